//! Password hashing at the configured parameters (Argon2id m=19 MiB, t=2, p=1),
//! beside the reference C implementation (libargon2, phc-winner-argon2) measured in
//! the same run at the same parameters. `cargo bench -p hearth-core --bench password_hashing`

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use hearth_core::password::{HashParams, PasswordHasher};
use std::hint::black_box;

type HashRaw =
    unsafe extern "C" fn(u32, u32, u32, *const u8, usize, *const u8, usize, *mut u8, usize) -> i32;

fn bench(c: &mut Criterion) {
    let params = HashParams::default();
    let hasher = PasswordHasher::new(params).expect("default parameters are valid");
    let mut g = c.benchmark_group("argon2id_m19456_t2_p1");
    g.sample_size(20);
    let mut rng = argon2::password_hash::rand_core::OsRng;
    g.bench_function("hearth_hash_phc", |b| {
        b.iter(|| hasher.hash(black_box("Correct-Horse-7-Battery"), &mut rng))
    });
    let stored = hasher
        .hash("Correct-Horse-7-Battery", &mut rng)
        .expect("hash");
    g.bench_function("hearth_verify", |b| {
        b.iter(|| hasher.verify(black_box("Correct-Horse-7-Battery"), &stored))
    });

    // The reference implementation, loaded at run time so the build needs no C toolchain.
    match unsafe { libloading::Library::new("libargon2.so.1") } {
        Ok(lib) => {
            let f: libloading::Symbol<HashRaw> =
                unsafe { lib.get(b"argon2id_hash_raw\0") }.expect("argon2id_hash_raw");
            let pw = b"Correct-Horse-7-Battery";
            let salt = [7u8; 16];
            g.bench_function("reference_c_libargon2", |b| {
                b.iter(|| {
                    let mut out = [0u8; 32];
                    let rc = unsafe {
                        f(
                            params.iterations,
                            params.memory_kib,
                            params.parallelism,
                            pw.as_ptr(),
                            pw.len(),
                            salt.as_ptr(),
                            salt.len(),
                            out.as_mut_ptr(),
                            out.len(),
                        )
                    };
                    assert_eq!(rc, 0);
                    black_box(out)
                })
            });
        }
        Err(e) => eprintln!(
            "reference libargon2 not found ({e}); install Debian's libargon2-1 to compare"
        ),
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

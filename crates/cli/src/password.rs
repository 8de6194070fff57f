//! `hearth password check`: one candidate per line in, one JSON verdict per line out.

use anyhow::Context;
use hearth_core::password::{PasswordPolicy, PasswordPolicyConfig};
use hearth_server::breach::BreachList;
use std::io::{BufRead, BufWriter, Write};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Also refuse passwords built from this e-mail address.
    #[arg(long)]
    email: Option<String>,
    /// Minimum zxcvbn strength, 0–4.
    #[arg(long, default_value_t = 3)]
    min_strength: u8,
    /// Have-I-Been-Pwned-format file (`SHA1HEX:COUNT`, sorted) to refuse breached passwords.
    #[arg(long)]
    breached: Option<std::path::PathBuf>,
}

pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let policy = PasswordPolicy::new(&PasswordPolicyConfig {
        min_strength: args.min_strength,
        ..Default::default()
    })?;
    let breached = args.breached.as_deref().map(BreachList::open).transpose()?;
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    run(
        &policy,
        breached.as_ref(),
        args.email.as_deref(),
        stdin,
        &mut out,
    )
}

fn run(
    policy: &PasswordPolicy,
    breached: Option<&BreachList>,
    email: Option<&str>,
    mut input: impl BufRead,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).context("reading stdin")? == 0 {
            break;
        }
        line_no += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        let candidate = String::from_utf8_lossy(&buf);
        if matches!(candidate, std::borrow::Cow::Owned(_)) {
            eprintln!("line {line_no}: not valid UTF-8; checked with replacement characters");
        }
        let in_breach = match breached {
            Some(list) => {
                list.count(&candidate)
                    .with_context(|| format!("line {line_no}"))?
                    > 0
            }
            None => false,
        };
        let report = policy.check(&candidate, email, in_breach);
        serde_json::to_writer(&mut *out, &report)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_verdict_per_line() {
        let policy = PasswordPolicy::new(&PasswordPolicyConfig::default()).unwrap();
        let mut out = Vec::new();
        run(
            &policy,
            None,
            None,
            &b"password\nPassword1!\nabc\nCorrect-Horse-7-Battery\r\n"[..],
            &mut out,
        )
        .unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        for refused in &lines[..3] {
            assert_eq!(refused["accepted"], false);
            assert!(!refused["reasons"].as_array().unwrap().is_empty());
        }
        assert_eq!(lines[3]["accepted"], true, "{}", lines[3]);
        assert!(lines[0]["reasons"]
            .as_array()
            .unwrap()
            .contains(&"common_password".into()));
        assert!(lines[2]["reasons"]
            .as_array()
            .unwrap()
            .contains(&"too_short".into()));
    }
}

//! A real server on a free loopback port over a fresh test store, for end-to-end tests.

use crate::app::App;
use crate::config::Config;
use hearth_store::testkit::{test_db, TestDb};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

pub struct TestServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub api_key: String,
    db: Option<TestDb>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: std::path::PathBuf,
}

impl TestServer {
    /// Starts a server; `tweak` adjusts the configuration first.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let db = match test_db().await {
            Ok(db) => db,
            Err(e) => panic_start(&format!("test database: {e}")),
        };
        let dir = std::env::temp_dir().join(format!(
            "hearth-server-{}-{}",
            std::process::id(),
            crate::service::random_hex(4)
        ));
        let api_key = format!("test-key-{}", crate::service::random_hex(8));
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.clone(),
            database_url: db.url.clone(),
            api_keys: vec![api_key.clone()],
            ..Config::default()
        };
        tweak(&mut config);
        let _ = std::fs::create_dir_all(&dir);
        let store = db.store.clone();
        let mut server = Self::serve(config, store).await;
        server.api_key = api_key;
        server.db = Some(db);
        server.dir = dir;
        server
    }

    /// A second node over the same database, as another `hearth serve` would be: its
    /// own store connection, state and listener, the same configuration (and so the
    /// same secret key file and API key) as `self`, adjusted by `tweak`.
    pub async fn start_peer(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = self.app.config.clone();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        tweak(&mut config);
        let store = match hearth_store::open(&config.database_url).await {
            Ok(s) => s,
            Err(e) => panic_start(&format!("peer database: {e}")),
        };
        let mut server = Self::serve(config, store).await;
        server.api_key = self.api_key.clone();
        // The data folder is the first node's: it removes it.
        server.dir = std::env::temp_dir().join(format!(
            "hearth-peer-{}-{}",
            std::process::id(),
            crate::service::random_hex(4)
        ));
        server
    }

    /// Builds the app on `store` and serves it on `config.listen`; the caller fills in
    /// the API key, the database to clean up and the data folder.
    async fn serve(config: Config, store: Arc<dyn hearth_store::Store>) -> TestServer {
        let app = match App::build(config.clone(), store) {
            Ok(a) => Arc::new(a),
            Err(e) => panic_start(&e.to_string()),
        };
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(l) => l,
            Err(e) => panic_start(&e.to_string()),
        };
        let addr = listener.local_addr().unwrap_or(config.listen);
        let (tx, rx) = oneshot::channel::<()>();
        let server = crate::Server {
            app: app.clone(),
            listener,
        };
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            app,
            api_key: String::new(),
            db: None,
            stop: Some(tx),
            task: Some(task),
            dir: config.data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[allow(clippy::panic)]
fn panic_start(why: &str) -> ! {
    panic!("test server failed to start: {why}")
}

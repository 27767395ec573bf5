//! A PgBouncer of a test's own (Debian's `pgbouncer`, installed by `make test` through
//! scripts/ensure-pgbouncer.sh) in front of the test server, in transaction-pooling mode: the
//! set-up of Neon's pooled endpoints and of many RDS deployments. Stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{command_as, free_port, unprivileged_user};

/// A running PgBouncer.
pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn binary() -> PathBuf {
    let on_path = std::env::var("PATH").ok().and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("pgbouncer"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/pgbouncer")).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "pgbouncer is not installed. `make test` installs Debian's package \
                 (scripts/ensure-pgbouncer.sh); or apt-get install pgbouncer"
            )
        })
}

impl PgBouncer {
    /// Starts one in `pool_mode = transaction` in front of the server of `server_url`, with at
    /// most `pool_size` server connections per database and user.
    pub async fn start(server_url: &str, pool_size: u32) -> Self {
        let config: tokio_postgres::Config = server_url.parse().expect("a PostgreSQL URL");
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let upstream_port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_owned();
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "better-auth-lambda-pgbouncer-{}",
            crate::random_token(10).to_ascii_lowercase()
        ));
        std::fs::create_dir_all(&dir).expect("pgbouncer directory");
        let port = free_port();
        let quote = |s: &str| s.replace('"', "\"\"");
        std::fs::write(
            dir.join("userlist.txt"),
            format!("\"{}\" \"{}\"\n", quote(&user), quote(&password)),
        )
        .expect("userlist");
        let password_setting = if password.is_empty() {
            String::new()
        } else {
            format!(" password={password}")
        };
        let ini = format!(
            "[databases]\n* = host={host} port={upstream_port} user={user}{password_setting}\n\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/userlist.txt\npool_mode = transaction\n\
             default_pool_size = {pool_size}\nmax_client_conn = 500\n\
             server_reset_query =\nlogfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini).expect("pgbouncer.ini");
        let run_as = unprivileged_user();
        if let Some(u) = &run_as {
            let _ = std::process::Command::new("chown")
                .args(["-R", u])
                .arg(&dir)
                .status();
        }
        let child = command_as(run_as.as_deref(), &binary())
            .arg(dir.join("pgbouncer.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let bouncer = Self { child, dir, port };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "pgbouncer did not listen: {}",
                bouncer.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bouncer
    }

    /// `server_url` redirected through this PgBouncer (same user, password and database).
    pub fn url_for(&self, server_url: &str, database: &str) -> String {
        let config: tokio_postgres::Config = server_url.parse().expect("a PostgreSQL URL");
        let user = config.get_user().unwrap_or("postgres");
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // runuser forwards SIGTERM to pgbouncer.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

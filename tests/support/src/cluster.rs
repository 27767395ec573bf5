//! A throwaway PostgreSQL cluster of a test's own (initdb + pg_ctl in a temporary directory),
//! for the fault tests that stop and restart the server, and a streaming replica of one
//! (`pg_basebackup -R`) for the read-replica tests. Removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running (or stopped) cluster on a free loopback port, trust auth, user `postgres`.
pub struct Cluster {
    dir: PathBuf,
    pg_ctl: PathBuf,
    run_as: Option<String>,
    /// Its port.
    pub port: u16,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub url: String,
}

/// `name` on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first).
pub fn pg_binary(name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .into_iter()
        .rev()
        .map(|v| v.join("bin").join(name))
        .find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The user to run server processes as: as root, `postgres` (or `nobody`); otherwise ourselves.
pub fn unprivileged_user() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let exists = |u: &str| {
        Command::new("id")
            .arg(u)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    Some(
        if exists("postgres") {
            "postgres"
        } else {
            "nobody"
        }
        .to_owned(),
    )
}

/// `program args…`, as `user` when given (runuser).
pub fn command_as(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

const MISSING: &str = "the fault tests start a PostgreSQL of their own: initdb and pg_ctl are \
                       needed (Debian/Ubuntu: apt-get install postgresql)";

/// A fresh directory for a cluster, owned by `run_as` when given.
fn cluster_dir(run_as: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "better-auth-lambda-cluster-{}",
        crate::random_token(10).to_ascii_lowercase()
    ));
    std::fs::create_dir_all(&dir).expect("cluster directory");
    if let Some(user) = run_as {
        let _ = Command::new("chown").arg(user).arg(&dir).status();
    }
    dir
}

impl Cluster {
    /// initdb and start. Panics with what is missing when PostgreSQL's server binaries are not
    /// installed (Debian: apt-get install postgresql).
    pub fn start() -> Self {
        let initdb = pg_binary("initdb").expect(MISSING);
        let run_as = unprivileged_user();
        let dir = cluster_dir(run_as.as_deref());
        let out = command_as(run_as.as_deref(), &initdb)
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::started(dir, run_as)
    }

    /// A streaming replica of `primary` (`pg_basebackup -R -X stream`), started on a port of its
    /// own. initdb's defaults are all the primary needs: `wal_level=replica`, ten WAL senders,
    /// and `host replication all 127.0.0.1/32 trust` in its `pg_hba.conf`.
    pub fn replica_of(primary: &Cluster) -> Self {
        let basebackup = pg_binary("pg_basebackup").expect(
            "the read-replica tests copy a cluster with pg_basebackup (Debian/Ubuntu: apt-get install postgresql)",
        );
        let dir = cluster_dir(primary.run_as.as_deref());
        let out = command_as(primary.run_as.as_deref(), &basebackup)
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ])
            .output()
            .expect("run pg_basebackup");
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::started(dir, primary.run_as.clone())
    }

    fn started(dir: PathBuf, run_as: Option<String>) -> Self {
        let port = free_port();
        let cluster = Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            pg_ctl: pg_binary("pg_ctl").expect(MISSING),
            run_as,
            port,
        };
        cluster.resume();
        cluster
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url_of(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Whether the server is running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        self.pg_ctl(&["status"]).status.success()
    }

    /// For a cluster kept for the whole test process (a `static`, never dropped): a detached
    /// watchdog stops it and removes its directory once this process has exited.
    pub fn stop_when_process_exits(&self) {
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut stop = vec![];
        if let Some(user) = &self.run_as {
            stop.extend([
                "runuser".to_owned(),
                "-u".to_owned(),
                quote(user),
                "--".to_owned(),
            ]);
        }
        stop.push(quote(&self.pg_ctl.to_string_lossy()));
        stop.push("-D".to_owned());
        stop.push(quote(&self.dir.join("data").to_string_lossy()));
        stop.extend(["-m".to_owned(), "immediate".to_owned(), "stop".to_owned()]);
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            stop = stop.join(" "),
            dir = quote(&self.dir.to_string_lossy()),
        );
        // In the background of a shell that exits at once (waited for: no zombie), in a
        // session of its own (setsid): it outlives a signal sent to the test's process group.
        let launch = format!(
            "setsid sh -c {script} </dev/null >/dev/null 2>&1 &",
            script = quote(&script)
        );
        let started = Command::new("sh")
            .args(["-c", &launch])
            .status()
            .expect("start the cluster's watchdog");
        assert!(started.success(), "the cluster's watchdog did not start");
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        command_as(self.run_as.as_deref(), &self.pg_ctl)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .output()
            .expect("run pg_ctl")
    }

    /// Starts the (stopped) server again on the same port.
    pub fn resume(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        let out = self.pg_ctl(&[
            "-w",
            "-t",
            "30",
            "-l",
            &log.to_string_lossy(),
            "-o",
            &options,
            "start",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server (`pg_ctl stop -m fast`: clients are disconnected).
    pub fn stop(&self) {
        let out = self.pg_ctl(&["-w", "-t", "30", "-m", "fast", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

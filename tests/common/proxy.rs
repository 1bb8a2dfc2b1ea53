//! A TCP proxy in front of the test database that a test can switch off, to
//! simulate a database outage without stopping the server other tests share.
//!
//! While down, every open connection is closed at once (as when the server dies)
//! and new connections are accepted and closed immediately (as when the port
//! refuses them).

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A switchable TCP proxy. Dropping it stops it.
#[derive(Debug)]
pub struct PgProxy {
    addr: SocketAddr,
    down: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PgProxy {
    /// Starts a proxy on a free loopback port, forwarding to `target`.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (down, down_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, target, down_rx));
        Self { addr, down, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts the database off (`true`) or restores it (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        let rest = &url[scheme_end..];
        let host_end = rest.find(['/', '?']).map_or(rest.len(), |i| i);
        let authority = &rest[..host_end];
        let user = authority.rfind('@').map_or("", |i| &authority[..=i]);
        format!(
            "{}{user}{}{}",
            &url[..scheme_end],
            self.addr,
            &rest[host_end..]
        )
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The host and port of a `postgres://` URL, resolved to a socket address.
///
/// # Panics
///
/// When the URL names no TCP host.
pub fn server_addr(url: &str) -> SocketAddr {
    let config: tokio_postgres::Config = url.parse().expect("valid database URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        other => panic!("database URL has no TCP host: {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let ip = if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    };
    format!("{ip}:{port}")
        .parse()
        .expect("host is an IP address")
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, down: watch::Receiver<bool>) {
    while let Ok((client, _)) = listener.accept().await {
        if *down.borrow() {
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, target, down.clone()));
    }
}

async fn forward(mut client: TcpStream, target: SocketAddr, mut down: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = down.wait_for(|&d| d) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rewrites_host_and_port_only() {
        let p = PgProxy::start("127.0.0.1:9".parse().unwrap()).await;
        let port = p.addr().port();
        assert_eq!(
            p.url_for("postgres://user:pw@127.0.0.1:55432/db?x=1"),
            format!("postgres://user:pw@127.0.0.1:{port}/db?x=1")
        );
        assert_eq!(
            p.url_for("postgres://h:1/db"),
            format!("postgres://127.0.0.1:{port}/db")
        );
    }
}

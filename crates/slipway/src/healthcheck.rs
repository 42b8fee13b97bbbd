//! `slipway healthcheck`: asks a running `slipway serve` for `/health` (or another probe
//! path) and exits 0 on a 200, 1 otherwise: the container image's `HEALTHCHECK`, which has
//! no shell, curl or wget to do it with.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use console::style;

/// `slipway healthcheck`.
#[derive(Args)]
pub struct HealthcheckArgs {
    /// The address the server listens on (0.0.0.0 and :: are asked on loopback).
    #[arg(long, default_value = "127.0.0.1", env = "SLIPWAY_HOST")]
    host: String,
    /// The server's port.
    #[arg(long, default_value_t = 5000, env = "SLIPWAY_PORT")]
    port: u16,
    /// The path to ask: /health (alive) or /ready (stores reachable, models loaded).
    #[arg(long, default_value = "/health", value_parser = probe_path)]
    path: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
}

/// A probe path: starts with `/`, printable ASCII without spaces.
fn probe_path(raw: &str) -> Result<String, String> {
    if raw.starts_with('/') && raw.bytes().all(|b| b.is_ascii_graphic()) && raw.len() <= 1024 {
        Ok(raw.to_string())
    } else {
        Err(format!(
            "'{raw}' is not a request path: start it with / and use printable ASCII without spaces"
        ))
    }
}

/// The address to connect to: a wildcard listen address is reached on loopback.
fn target(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => {
            Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port))
        }
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => {
            Ok(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port))
        }
        Ok(ip) => Ok(SocketAddr::new(ip, port)),
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| anyhow::anyhow!("--host {host}: {e}"))?
            .next()
            .ok_or_else(|| anyhow::anyhow!("--host {host}: no address")),
    }
}

/// The status code of `GET path` at `addr`.
fn status_of(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // A loopback Host, which the server always accepts.
    let host = match addr.ip() {
        IpAddr::V4(_) => format!("127.0.0.1:{}", addr.port()),
        IpAddr::V6(_) => format!("[::1]:{}", addr.port()),
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slipway-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::with_capacity(64);
    let mut byte = [0u8; 1];
    while head.len() < 256 && !head.ends_with(b"\r\n") {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => Ok(code),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not an HTTP answer",
        )),
    }
}

/// Runs `slipway healthcheck`.
pub fn run(a: HealthcheckArgs, json: bool) -> anyhow::Result<ExitCode> {
    let addr = target(&a.host, a.port)?;
    let result = status_of(addr, &a.path, Duration::from_secs(a.timeout));
    let ok = matches!(result, Ok(200));
    if json {
        let v = match &result {
            Ok(code) => {
                serde_json::json!({"url": format!("http://{addr}{}", a.path), "ok": ok, "status": code})
            }
            Err(e) => {
                serde_json::json!({"url": format!("http://{addr}{}", a.path), "ok": false, "error": e.to_string()})
            }
        };
        println!("{v}");
    } else {
        match &result {
            Ok(200) => println!("{} http://{addr}{} 200", style("✓").green().bold(), a.path),
            Ok(code) => eprintln!(
                "{} http://{addr}{} answered {code}",
                style("✗").red().bold(),
                a.path
            ),
            Err(e) => eprintln!("{} http://{addr}{}: {e}", style("✗").red().bold(), a.path),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_asked_on_loopback() {
        assert_eq!(
            target("0.0.0.0", 5000).expect("v4"),
            "127.0.0.1:5000".parse().expect("addr")
        );
        assert_eq!(
            target("::", 80).expect("v6"),
            "[::1]:80".parse().expect("addr")
        );
        assert_eq!(
            target("[::]", 80).expect("v6 brackets"),
            "[::1]:80".parse().expect("addr")
        );
        assert_eq!(
            target("10.0.0.7", 8080).expect("ip"),
            "10.0.0.7:8080".parse().expect("addr")
        );
    }

    #[test]
    fn probe_paths_are_checked() {
        assert!(probe_path("/ready").is_ok());
        for bad in ["ready", "/a b", "/a\r\nX-Evil: 1", ""] {
            assert!(probe_path(bad).is_err(), "{bad:?}");
        }
    }
}

//! The HTTP layer against slow and oversized clients: header and body read deadlines, the
//! connection cap, and MEXC's JSON error shape for oversized requests (hyper itself answers
//! malformed request lines, with an empty body).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{bounded, start_with};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Read deadlines configured in these tests.
const READ_DEADLINE: Duration = Duration::from_millis(300);
/// How much later than its deadline the venue may act on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(10);

/// Everything the server sends until it closes, or `None` if it neither answered nor closed
/// within `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(received)
}

/// Status code and JSON body of one raw HTTP response.
fn parse(response: &[u8]) -> (u16, Option<Value>) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok());
    (status, body)
}

async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (u16, Option<Value>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let response = read_until_closed(&mut stream, SLACK)
        .await
        .expect("no answer");
    parse(&response)
}

fn mexc_error(body: &Option<Value>, code: i64) {
    let body = body.as_ref().expect("a JSON body");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["msg"].is_string(), "{body}");
}

#[tokio::test]
async fn headers_that_never_finish_are_cut_off() {
    bounded(async {
        let sim = start_with(|c| c.http.header_read_timeout = READ_DEADLINE).await;
        let mut held = Vec::new();
        for _ in 0..20 {
            let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
            stream
                .write_all(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
            held.push(stream);
        }
        let started = Instant::now();
        for stream in &mut held {
            let closed = read_until_closed(stream, READ_DEADLINE + SLACK).await;
            assert!(
                closed.is_some(),
                "a connection was held past the header deadline"
            );
        }
        assert!(started.elapsed() < READ_DEADLINE + SLACK);
        // The venue still serves.
        let (status, _) = exchange(
            sim.local_addr(),
            b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, 200);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408() {
    bounded(async {
        let sim = start_with(|c| c.http.body_read_timeout = READ_DEADLINE).await;
        let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
        stream
            .write_all(
                b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nsymbol=",
            )
            .await
            .unwrap();
        let response = read_until_closed(&mut stream, READ_DEADLINE + SLACK)
            .await
            .expect("no answer to a stalled body");
        let (status, body) = parse(&response);
        assert_eq!(status, 408);
        mexc_error(&body, 408);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_in_mexc_shape() {
    bounded(async {
        let sim = start_with(|c| c.http.max_connections = 3).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut stream = TcpStream::connect(sim.local_addr()).await.unwrap();
            stream
                .write_all(b"GET /api/v3/ping HTTP/1.1\r\n")
                .await
                .unwrap();
            held.push(stream);
        }
        let ping = b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let (status, body) = exchange(sim.local_addr(), ping).await;
        assert_eq!(status, 503);
        mexc_error(&body, 503);
        // A slot freed is a slot served again.
        drop(held.pop());
        let deadline = Instant::now() + SLACK;
        loop {
            let (status, _) = exchange(sim.local_addr(), ping).await;
            if status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "no slot freed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_requests_get_mexc_errors() {
    bounded(async {
        let sim = start_with(|_| {}).await;
        let addr = sim.local_addr();
        let long_query = "a".repeat(10 * 1024);
        let request = format!("GET /api/v3/ping?{long_query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, body) = exchange(addr, request.as_bytes()).await;
        assert_eq!(status, 414);
        mexc_error(&body, 414);

        let big_header = "b".repeat(20 * 1024);
        let request = format!("GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nX-Big: {big_header}\r\nConnection: close\r\n\r\n");
        let (status, body) = exchange(addr, request.as_bytes()).await;
        assert_eq!(status, 431);
        mexc_error(&body, 431);

        let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
        let request = format!("GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n");
        let (status, body) = exchange(addr, request.as_bytes()).await;
        assert_eq!(status, 431);
        mexc_error(&body, 431);

        let request = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let (status, body) = exchange(addr, request.as_bytes()).await;
        assert!((400..500).contains(&status), "{status}");
        mexc_error(&body, 400);

        // A request line hyper cannot parse: hyper answers 400 itself (no JSON body is
        // possible there) and closes; the venue neither hangs nor stops serving.
        let (status, _) = exchange(addr, b"NOT AN HTTP REQUEST\r\n\r\n").await;
        assert_eq!(status, 400);
        let (status, _) = exchange(addr, b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status, 200);
        sim.shutdown().await;
    })
    .await;
}

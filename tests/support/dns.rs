//! A small authoritative DNS server on 127.0.0.1 (UDP and TCP on one port) with records the test
//! chooses: answers too big for 512 bytes are truncated over UDP, as real servers do, so clients
//! must retry over TCP. It can also be told to say nothing (for timeouts) or to refuse.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{AAAA, CAA, CNAME, MX, NS, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// How the server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers from its records (NXDOMAIN for names it does not know).
    Answer,
    /// Reads queries and never answers.
    Silent,
    /// Answers REFUSED to everything.
    Refuse,
}

/// A running server; stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    records: Arc<Mutex<Vec<Record>>>,
    mode: Arc<Mutex<Mode>>,
    /// Queries received over UDP and over TCP.
    pub queries: Arc<Mutex<(usize, usize)>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A record: owner name, TTL and data as text per type (`A 127.0.0.1`, `MX 10 mail.example.test.`…).
pub fn record(name: &str, ttl: u32, data: &str) -> Record {
    let name = Name::from_ascii(name).unwrap();
    let (kind, rest) = data.split_once(' ').unwrap();
    let n = |s: &str| Name::from_ascii(s).unwrap();
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let rdata = match kind {
        "A" => RData::A(rest.parse::<std::net::Ipv4Addr>().unwrap().into()),
        "AAAA" => RData::AAAA(AAAA(rest.parse().unwrap())),
        "CNAME" => RData::CNAME(CNAME(n(rest))),
        "NS" => RData::NS(NS(n(rest))),
        "MX" => RData::MX(MX::new(parts[0].parse().unwrap(), n(parts[1]))),
        "TXT" => RData::TXT(TXT::new(vec![rest.to_string()])),
        "SRV" => RData::SRV(SRV::new(
            parts[0].parse().unwrap(),
            parts[1].parse().unwrap(),
            parts[2].parse().unwrap(),
            n(parts[3]),
        )),
        "SOA" => RData::SOA(SOA::new(
            n(parts[0]),
            n(parts[1]),
            parts[2].parse().unwrap(),
            3600,
            600,
            86400,
            60,
        )),
        "CAA" => RData::CAA(CAA::new_issue(false, Some(n(rest)), Vec::new())),
        other => panic!("the test DNS server has no {other} records"),
    };
    Record::from_rdata(name, ttl, rdata)
}

impl DnsServer {
    /// A server answering from `records`.
    pub fn start(records: Vec<Record>) -> DnsServer {
        DnsServer::start_on(0, records)
    }

    /// A server on 127.0.0.1:`port` (UDP and TCP; 0: any free port).
    pub fn start_on(port: u16, records: Vec<Record>) -> DnsServer {
        let (std_udp, std_tcp) = bind_pair(port);
        let addr = std_udp.local_addr().unwrap();
        std_udp.set_nonblocking(true).unwrap();
        std_tcp.set_nonblocking(true).unwrap();
        let records = Arc::new(Mutex::new(records));
        let mode = Arc::new(Mutex::new(Mode::Answer));
        let queries = Arc::new(Mutex::new((0, 0)));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (r, m, q) = (records.clone(), mode.clone(), queries.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let udp = UdpSocket::from_std(std_udp).unwrap();
                let tcp = TcpListener::from_std(std_tcp).unwrap();
                tokio::select! {
                    _ = serve_udp(udp, r.clone(), m.clone(), q.clone()) => {}
                    _ = serve_tcp(tcp, r, m, q) => {}
                    _ = stopped => {}
                }
            });
        });
        DnsServer {
            addr,
            records,
            mode,
            queries,
            stop: Some(stop),
        }
    }

    /// Replaces the records (an answer that changes between runs).
    pub fn set_records(&self, records: Vec<Record>) {
        *self.records.lock().unwrap() = records;
    }

    /// Changes how the server behaves.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// A UDP socket and a TCP listener on the same 127.0.0.1 port. With
/// `port` 0 the kernel picks the UDP port, which another test may already
/// hold for TCP; then it tries another.
fn bind_pair(port: u16) -> (std::net::UdpSocket, std::net::TcpListener) {
    let mut last = None;
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}/udp: {e}"));
        match std::net::TcpListener::bind(udp.local_addr().unwrap()) {
            Ok(tcp) => return (udp, tcp),
            Err(e) if port == 0 && e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => panic!("cannot listen on 127.0.0.1:{port}/tcp: {e}"),
        }
    }
    panic!("no free 127.0.0.1 port for both UDP and TCP: {last:?}")
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// The answer to `query` (None: say nothing), truncated to 512 bytes when `udp`.
fn answer(
    query: &[u8],
    records: &Shared<Vec<Record>>,
    mode: &Shared<Mode>,
    udp: bool,
) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let mode = *mode.lock().unwrap();
    let mut resp = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    resp.metadata.recursion_desired = q.metadata.recursion_desired;
    resp.metadata.authoritative = true;
    resp.add_queries(q.queries.clone());
    match mode {
        Mode::Silent => return None,
        Mode::Refuse => resp.metadata.response_code = ResponseCode::Refused,
        Mode::Answer => {
            let question = q.queries.first()?;
            let all = records.lock().unwrap().clone();
            let named: Vec<&Record> = all.iter().filter(|r| r.name == *question.name()).collect();
            if named.is_empty() {
                resp.metadata.response_code = ResponseCode::NXDomain;
            }
            for r in named
                .into_iter()
                .filter(|r| r.record_type() == question.query_type())
            {
                resp.add_answer(r.clone());
            }
        }
    }
    let bytes = resp.to_vec().ok()?;
    if udp && bytes.len() > 512 {
        let mut cut = resp.truncate();
        cut.metadata.truncation = true;
        return cut.to_vec().ok();
    }
    Some(bytes)
}

async fn serve_udp(
    udp: UdpSocket,
    records: Shared<Vec<Record>>,
    mode: Shared<Mode>,
    queries: Shared<(usize, usize)>,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf).await else {
            continue;
        };
        queries.lock().unwrap().0 += 1;
        if let Some(out) = answer(&buf[..n], &records, &mode, true) {
            let _ = udp.send_to(&out, from).await;
        }
    }
}

async fn serve_tcp(
    tcp: TcpListener,
    records: Shared<Vec<Record>>,
    mode: Shared<Mode>,
    queries: Shared<(usize, usize)>,
) {
    loop {
        let Ok((mut s, _)) = tcp.accept().await else {
            continue;
        };
        let (records, mode, queries) = (records.clone(), mode.clone(), queries.clone());
        tokio::spawn(async move {
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if s.read_exact(&mut q).await.is_err() {
                return;
            }
            queries.lock().unwrap().1 += 1;
            match answer(&q, &records, &mode, false) {
                Some(out) => {
                    let mut framed = (out.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&out);
                    let _ = s.write_all(&framed).await;
                }
                None => tokio::time::sleep(std::time::Duration::from_secs(60)).await,
            }
        });
    }
}

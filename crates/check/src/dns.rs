//! The DNS check: one query at a chosen server (or the system resolver's), over UDP with a TCP
//! retry when the answer is truncated; the response code, answers, TTLs and query time.

use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType as Rt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::Scope;
use super::net::Broken;
use crate::canary::Step;
use crate::canary::dns::{DnsCheck, RecordType};
use crate::observed::{DnsAnswer, DnsSeen, Observed};
use crate::run::{AssertionResult, ErrorKind, Phases, StepRun};

/// Runs a DNS step.
pub async fn run(step: &Step, check: &DnsCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = super::deadline(step, scope, started);
    let name = check.name.render(&scope.captures);
    let server = check.server.clone().unwrap_or_else(system_server);
    let target = format!("dns://{server}/{name}?type={}", check.record);
    let result = query(check, &name, &server, (started, deadline)).await;
    super::conclude(step, scope, started, target, result)
}

/// The first `nameserver` of /etc/resolv.conf, port 53 (127.0.0.1:53 when there is none).
fn system_server() -> String {
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let first = conf.lines().find_map(|l| {
        l.trim()
            .strip_prefix("nameserver")
            .map(|s| s.trim().to_string())
    });
    match first {
        Some(ip) if ip.contains(':') => format!("[{ip}]:53"),
        Some(ip) => format!("{ip}:53"),
        None => "127.0.0.1:53".into(),
    }
}

fn rt(r: RecordType) -> Rt {
    match r {
        RecordType::A => Rt::A,
        RecordType::Aaaa => Rt::AAAA,
        RecordType::Cname => Rt::CNAME,
        RecordType::Mx => Rt::MX,
        RecordType::Txt => Rt::TXT,
        RecordType::Ns => Rt::NS,
        RecordType::Soa => Rt::SOA,
        RecordType::Srv => Rt::SRV,
        RecordType::Caa => Rt::CAA,
    }
}

async fn query(
    check: &DnsCheck,
    name: &str,
    server: &str,
    (started, deadline): (Instant, Instant),
) -> Result<(Observed, Vec<AssertionResult>), Broken> {
    let mut phases = Phases::default();
    let broken = |kind, msg: String, p: Phases| Broken::new(kind, msg, p);
    let addr: SocketAddr = server.parse().map_err(|_| {
        broken(
            ErrorKind::Dns,
            format!("`{server}` is not an IP address and port"),
            phases,
        )
    })?;
    let qname = Name::from_utf8(name).map_err(|e| {
        broken(
            ErrorKind::Protocol,
            format!("`{name}` is not a DNS name: {e}"),
            phases,
        )
    })?;
    let mut msg = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname, rt(check.record)));
    let bytes = msg.to_vec().map_err(|e| {
        broken(
            ErrorKind::Internal,
            format!("cannot encode the query: {e}"),
            phases,
        )
    })?;
    let sent = Instant::now();
    let mut over_tcp = check.tcp;
    let mut response = match over_tcp {
        true => None,
        false => Some(
            udp(addr, &bytes, deadline, started)
                .await
                .map_err(|(k, m)| broken(k, m, phases))?,
        ),
    };
    if response.as_ref().is_none_or(|r| r.metadata.truncation) {
        over_tcp = true;
        response = Some(
            tcp(addr, &bytes, deadline, started)
                .await
                .map_err(|(k, m)| broken(k, m, phases))?,
        );
    }
    let response = response.expect("answered over UDP or TCP");
    // The query time: from sending to the answer (setting up the socket is not the server's).
    phases.processing = sent.elapsed();
    phases.total = phases.processing;
    if response.metadata.id != msg.metadata.id {
        return Err(broken(
            ErrorKind::Protocol,
            "the answer is for another query (its id differs)".into(),
            phases,
        ));
    }
    let answers = response
        .answers
        .iter()
        .filter(|r| r.data.record_type() == rt(check.record))
        .map(|r| DnsAnswer {
            name: r.name.to_string(),
            record: r.data.record_type().to_string(),
            ttl: r.ttl,
            data: data(&r.data),
        })
        .collect();
    let seen = Observed {
        dns: Some(DnsSeen {
            server: server.to_string(),
            rcode: rcode(u16::from(response.metadata.response_code)),
            authoritative: response.metadata.authoritative,
            tcp: over_tcp,
            answers,
        }),
        phases,
        ..Observed::default()
    };
    Ok((seen, Vec::new()))
}

/// A record's data as people write it; TXT's strings joined.
fn data(d: &RData) -> String {
    match d {
        RData::TXT(t) => t
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join(""),
        other => other.to_string(),
    }
}

/// The standard mnemonic of a response code.
fn rcode(code: u16) -> String {
    const NAMES: [&str; 11] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    NAMES
        .get(usize::from(code))
        .map_or_else(|| format!("RCODE{code}"), |n| n.to_string())
}

fn rand_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    (nanos ^ (nanos >> 16)) as u16
}

type Fail = (ErrorKind, String);

/// No answer before the deadline.
fn no_answer(addr: SocketAddr, over: &str, since: Instant) -> Fail {
    let took = crate::assert::format_duration(since.elapsed());
    (
        ErrorKind::Timeout,
        format!("timed out after {took} waiting for an answer from {addr} over {over}"),
    )
}

async fn udp(
    addr: SocketAddr,
    query: &[u8],
    deadline: Instant,
    sent: Instant,
) -> Result<Message, Fail> {
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .expect("an address");
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            (ErrorKind::Connect, format!("{addr} refused the query: {e}"))
        }
        _ => (ErrorKind::Connect, format!("could not reach {addr}: {e}")),
    };
    let socket = UdpSocket::bind(bind).await.map_err(io)?;
    socket.connect(addr).await.map_err(io)?;
    socket.send(query).await.map_err(io)?;
    let mut buf = vec![0u8; 65_535];
    let n = match tokio::time::timeout_at(deadline.into(), socket.recv(&mut buf)).await {
        Err(_) => return Err(no_answer(addr, "UDP", sent)),
        Ok(r) => r.map_err(io)?,
    };
    Message::from_vec(&buf[..n])
        .map_err(|e| (ErrorKind::Protocol, format!("not a DNS answer: {e}")))
}

async fn tcp(
    addr: SocketAddr,
    query: &[u8],
    deadline: Instant,
    sent: Instant,
) -> Result<Message, Fail> {
    let io = |e: std::io::Error| (ErrorKind::Connect, format!("DNS over TCP to {addr}: {e}"));
    let work = async {
        let mut s = TcpStream::connect(addr).await.map_err(io)?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        s.write_all(&framed).await.map_err(io)?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len)
            .await
            .map_err(|e| (ErrorKind::Reset, format!("DNS over TCP to {addr}: {e}")))?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf)
            .await
            .map_err(|e| (ErrorKind::Reset, format!("DNS over TCP to {addr}: {e}")))?;
        Message::from_vec(&buf).map_err(|e| (ErrorKind::Protocol, format!("not a DNS answer: {e}")))
    };
    match tokio::time::timeout_at(deadline.into(), work).await {
        Err(_) => Err(no_answer(addr, "TCP", sent)),
        Ok(r) => r,
    }
}

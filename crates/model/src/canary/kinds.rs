//! The table of check kinds: one line per kind, read by the model, the config and the executors.

/// What a check kind's compiled form tells the rest of canary.
pub trait CheckKind {
    /// The assertion keys that mean something for this kind; others are refused at load.
    const ASSERTION_KEYS: &'static [&'static str];
    /// True when the check may speak TLS itself (a URL known only at run time counts).
    fn uses_tls(&self) -> bool;
}

/// The one list of check kinds a canary or a step holds as a section: calls
/// `$callback! { { $args } <the table> }`.
///
/// Each line is the `StepKind` variant, the section's key in the canary file — also the name of
/// the kind's module in `canary-model`, `canary-config` and `canary-check` — the compiled type in
/// the model's module and the raw type in the config's module. Its `///` line documents the
/// section in the canary file and the JSON Schema. `browser:` is not a section: it is not here.
#[macro_export]
macro_rules! for_each_kind {
    ($callback:ident { $($args:tt)* }) => {
        $callback! {
            { $($args)* }
            /// An HTTP request, with its `assert:` and `capture:` inside.
            Http http Request RawHttp;
            /// A TCP connection: connect (optionally TLS), optionally send and expect a reply.
            Tcp tcp TcpCheck RawTcp;
            /// A DNS query.
            Dns dns DnsCheck RawDns;
            /// A certificate-only TLS handshake with host:port.
            Tls tls TlsCheck RawTlsCheck;
            /// A WebSocket exchange: connect, send, expect messages.
            WebSocket websocket WebSocketCheck RawWebSocket;
            /// The gRPC standard health check.
            Grpc grpc GrpcCheck RawGrpc;
        }
    };
}

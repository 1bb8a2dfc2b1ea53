use std::sync::atomic::AtomicBool;

use tokio::io::{duplex, DuplexStream};
use tokio::sync::Notify;

use super::*;
use crate::health::{AdapterMetrics, HealthRegistry};
use crate::mllp::{KnownDevice, UnknownSenders};
use crate::modbus::StatusData;
use crate::protocols::hl7::{Message, MessageHeader};
use crate::sink::{DeviceRef, Refused};
use crate::{Reading, Unit};

const EUI: u64 = 0x0012_AB00_FFFE_0001;

#[derive(Debug, Default)]
struct TestSink {
    stored: Mutex<Vec<(DeviceRef, Vec<Reading>)>>,
    refuse: AtomicBool,
    gate: Option<Arc<Notify>>,
}

impl ReadingSink for TestSink {
    async fn deliver(
        &self,
        device: &DeviceRef,
        readings: Vec<Reading>,
        _received: SystemTime,
    ) -> Result<(), Refused> {
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        if self.refuse.load(Ordering::SeqCst) {
            return Err(Refused {
                reason: "spool full".to_owned(),
            });
        }
        self.stored.lock().unwrap().push((device.clone(), readings));
        Ok(())
    }
}

fn oru(control_id: &str, hr: &str) -> Vec<u8> {
    let text = format!(
        "MSH|^~\\&|B40^{EUI:016X}^EUI-64|ICU|||20240501103000+0000||ORU^R01^ORU_R01|{control_id}|P|2.6\r\
         PV1||I|ICU^301^3\r\
         OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|{hr}|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R\r"
    );
    mllp::encode(text.as_bytes())
}

fn shared(sink: TestSink, max_message_bytes: usize) -> (Arc<Shared<TestSink>>, HealthRegistry) {
    let registry = HealthRegistry::default();
    let health = Hl7Health::new(["b40-3"], &AdapterMetrics::unregistered(), &registry);
    let routing = Routing::new(
        &[KnownDevice {
            device_id: "b40-3".to_owned(),
            eui64: EUI,
            bed_id: Some("bed-3".to_owned()),
        }],
        &[],
        UnknownSenders::Reject,
    );
    let shared = Arc::new(Shared {
        config: ListenerConfig {
            max_message_bytes,
            idle_timeout: Duration::from_secs(60),
            max_connections: 4,
            assumed_utc_offset_minutes: None,
        },
        routing,
        health,
        sink: Arc::new(sink),
        status: StatusBoard::new(),
        acks: AtomicU64::new(0),
        throttle: Mutex::new(Throttle::new(LOG_EVERY)),
    });
    (shared, registry)
}

/// Starts serving one end of a pipe; returns the other end.
fn connect(shared: &Arc<Shared<TestSink>>) -> (DuplexStream, watch::Sender<bool>) {
    let (client, server) = duplex(64 * 1024);
    let (stop, stopped) = watch::channel(false);
    let peer: SocketAddr = "127.0.0.1:2575".parse().unwrap();
    tokio::spawn(serve(server, peer, Arc::clone(shared), stopped));
    (client, stop)
}

/// Reads one MLLP block and returns (MSA-1, MSA-2, ERR-8 if any).
async fn read_ack(client: &mut DuplexStream) -> (String, String, String) {
    let mut framer = MllpFramer::new();
    let mut buf = [0; 4096];
    loop {
        let n = client.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before the ACK");
        if let Some(Ok(block)) = framer.feed(&buf[..n]).into_iter().next() {
            let m = Message::parse(&block).unwrap();
            let msa = m.segment("MSA").unwrap();
            let err = m.segment("ERR").map(|e| e.value(8).unwrap().into_owned());
            let kind = MessageHeader::read(&m).message_type;
            assert_eq!(kind.first().map(String::as_str), Some("ACK"));
            return (
                msa.value(1).unwrap().into_owned(),
                msa.value(2).unwrap().into_owned(),
                err.unwrap_or_default(),
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn aa_follows_storage_and_names_the_control_id() {
    let gate = Arc::new(Notify::new());
    let sink = TestSink {
        gate: Some(Arc::clone(&gate)),
        ..TestSink::default()
    };
    let (shared, registry) = shared(sink, 4096);
    let (mut client, _stop) = connect(&shared);
    client.write_all(&oru("M1", "72")).await.unwrap();

    // The sink has not finished: no ACK may arrive.
    let mut byte = [0; 1];
    let early = tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte)).await;
    assert!(early.is_err(), "ACK sent before the readings were stored");
    assert!(shared.sink.stored.lock().unwrap().is_empty());

    gate.notify_one();
    let (code, control_id, _) = read_ack(&mut client).await;
    assert_eq!((code.as_str(), control_id.as_str()), ("AA", "M1"));
    let stored = shared.sink.stored.lock().unwrap().clone();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, DeviceRef::new("b40-3", "bed-3"));
    assert_eq!(stored[0].1[0].value, 72.0);
    let health = registry.snapshot();
    assert_eq!((health["b40-3"].frames, health["b40-3"].readings), (1, 1));
    assert_eq!(health["hl7-listener"].frames, 1);
}

#[tokio::test(start_paused = true)]
async fn bad_messages_are_answered_and_the_connection_survives() {
    let (shared, registry) = shared(TestSink::default(), 4096);
    let (mut client, _stop) = connect(&shared);

    client.write_all(&oru("M1", "7x2")).await.unwrap();
    let (code, id, text) = read_ack(&mut client).await;
    assert_eq!((code.as_str(), id.as_str()), ("AE", "M1"));
    assert!(text.contains("OBX[1]-5"), "{text}");

    let adt = mllp::encode(b"MSH|^~\\&|A|B|||20240501||ADT^A01|M2|P|2.6\r");
    client.write_all(&adt).await.unwrap();
    let (code, id, _) = read_ack(&mut client).await;
    assert_eq!((code.as_str(), id.as_str()), ("AR", "M2"));

    let huge = mllp::encode(&vec![b'A'; 5000]);
    client.write_all(&huge).await.unwrap();
    let (code, id, text) = read_ack(&mut client).await;
    assert_eq!((code.as_str(), id.as_str()), ("AR", ""));
    assert!(text.contains("4096"), "{text}");

    client.write_all(&oru("M3", "64")).await.unwrap();
    let (code, id, _) = read_ack(&mut client).await;
    assert_eq!((code.as_str(), id.as_str()), ("AA", "M3"));
    let stored = shared.sink.stored.lock().unwrap().clone();
    assert_eq!(stored.len(), 1, "only the good message is stored");
    assert_eq!(stored[0].1[0].value, 64.0);
    assert_eq!(registry.snapshot()["hl7-listener"].errors, 3);
}

#[tokio::test(start_paused = true)]
async fn refused_storage_gets_ar_and_a_resend_is_accepted() {
    let sink = TestSink::default();
    sink.refuse.store(true, Ordering::SeqCst);
    let (shared, _) = shared(sink, 4096);
    let (mut client, _stop) = connect(&shared);
    client.write_all(&oru("M1", "72")).await.unwrap();
    let (code, id, text) = read_ack(&mut client).await;
    assert_eq!((code.as_str(), id.as_str()), ("AR", "M1"));
    assert!(text.contains("spool full"), "{text}");

    shared.sink.refuse.store(false, Ordering::SeqCst);
    client.write_all(&oru("M1", "72")).await.unwrap();
    assert_eq!(read_ack(&mut client).await.0, "AA");
}

#[tokio::test(start_paused = true)]
async fn idle_connection_is_closed_after_the_timeout() {
    let (shared, _) = shared(TestSink::default(), 4096);
    let (mut client, _stop) = connect(&shared);
    let started = Instant::now();
    let mut buf = [0; 16];
    let n = client.read(&mut buf).await.unwrap();
    assert_eq!(n, 0, "closed");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(61),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_an_open_connection() {
    let (shared, _) = shared(TestSink::default(), 4096);
    let (mut client, stop) = connect(&shared);
    client.write_all(&oru("M1", "72")).await.unwrap();
    assert_eq!(read_ack(&mut client).await.0, "AA");
    stop.send_replace(true);
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);
}

#[tokio::test]
async fn listener_serves_tcp_and_limits_connections() {
    let (shared, _) = shared(TestSink::default(), 4096);
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let config = ListenerConfig {
        max_connections: 1,
        ..shared.config.clone()
    };
    let sink = Arc::new(TestSink::default());
    let task = tokio::spawn(run(
        tcp,
        config,
        shared.routing.clone(),
        shared.health.clone(),
        Arc::clone(&sink),
        StatusBoard::new(),
        stopped,
    ));
    let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
    first.write_all(&oru("T1", "70")).await.unwrap();
    let mut framer = MllpFramer::new();
    let mut buf = [0; 2048];
    let n = first.read(&mut buf).await.unwrap();
    let ack = framer.feed(&buf[..n]).remove(0).unwrap();
    assert!(String::from_utf8_lossy(&ack).contains("MSA|AA|T1"));

    let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        second.read(&mut buf).await.unwrap_or(0),
        0,
        "over the limit"
    );

    stop.send_replace(true);
    task.await.unwrap();
    assert_eq!(first.read(&mut buf).await.unwrap_or(0), 0);
    assert_eq!(sink.stored.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_codes_reach_the_status_board_over_tcp() {
    let (shared, registry) = shared(TestSink::default(), 4096);
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let status = StatusBoard::new();
    let sink = Arc::new(TestSink::default());
    let task = tokio::spawn(run(
        tcp,
        shared.config.clone(),
        shared.routing.clone(),
        shared.health.clone(),
        Arc::clone(&sink),
        status.clone(),
        stopped,
    ));
    let stranger = "0012AB00FFFE0009";
    let text = format!(
        "MSH|^~\\&|B40^{EUI:016X}^EUI-64|ICU|||20240501103000+0000||ORU^R01^ORU_R01|U1|P|2.6\r\
         OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|70|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R\r\
         OBX|2|NM|99999^MDC_VENDOR_THING^MDC|1.3.1.3|5|262688^MDC_DIM_PERCENT^MDC|||||R\r\
         OBX|3|NM|99998^MDC_OTHER_THING^MDC||7||||||R|||||||{stranger}^^{stranger}^EUI-64\r"
    );
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(&mllp::encode(text.as_bytes()))
        .await
        .unwrap();
    let mut framer = MllpFramer::new();
    let mut buf = [0; 2048];
    let n = client.read(&mut buf).await.unwrap();
    let ack = framer.feed(&buf[..n]).remove(0).unwrap();
    assert!(String::from_utf8_lossy(&ack).contains("MSA|AA|U1"));

    // The ACK follows the board update: no waiting needed.
    let board = status.snapshot();
    let vendor = &board["b40-3"]["hl7:99999^MDC/1.3.1.3"];
    assert_eq!(
        (&vendor.value, vendor.unit),
        (&StatusData::Number(5.0), Some(Unit::Percent))
    );
    let name = format!("hl7:99998^MDC@{stranger}");
    assert_eq!(board["hl7-listener"][&name].value, StatusData::Number(7.0));
    assert_eq!(board.len(), 2, "{board:?}");
    assert_eq!(sink.stored.lock().unwrap()[0].1.len(), 1, "HR stored");
    assert_eq!(
        registry.snapshot()["hl7-listener"].errors,
        1,
        "still counted"
    );

    stop.send_replace(true);
    task.await.unwrap();
}

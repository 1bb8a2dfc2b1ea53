//! Alarm events over MQTT through the independent Mosquitto broker on
//! 127.0.0.1:1883, received by a separate rumqttc subscriber.

use std::time::Duration;

use alerting::engine::EngineConfig;
use alerting::mqtt::{self, MqttPublisherConfig};
use alerting::runtime::{self, AlertingMetrics, Clock, RuntimeConfig};
use collector::{LiveBatch, Origin, Quality, Sample};
use firmware_adapters::Metric;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::{broadcast, watch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_changes_reach_a_subscriber_on_the_documented_topics() {
    let prefix = format!("hs-test-{}", std::process::id());
    let mut options = MqttOptions::new(format!("{prefix}-sub"), "127.0.0.1", 1883);
    options.set_keep_alive(Duration::from_secs(10));
    let (sub, mut sub_loop) = AsyncClient::new(options, 64);
    // Wait for the connection before subscribing, so nothing is missed.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), sub_loop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                if std::env::var("HEALTHSPHERE_REQUIRE_BROKER").is_ok_and(|v| v == "1") {
                    panic!("no Mosquitto on 127.0.0.1:1883: {e}");
                }
                #[expect(clippy::print_stderr, reason = "a skipped test says why")]
                {
                    eprintln!("SKIPPED mqtt: no Mosquitto on 127.0.0.1:1883 ({e})");
                }
                return;
            }
            Err(_) => panic!("no CONNACK from Mosquitto"),
        }
    }
    sub.subscribe(format!("{prefix}/+/ward/+/bed/+/alarm/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = sub_loop.poll().await.unwrap() {
            break;
        }
    }

    let (stop, stop_rx) = watch::channel(false);
    let (sink, rx) = mqtt::channel(64);
    let cfg = MqttPublisherConfig {
        host: "127.0.0.1".into(),
        port: 1883,
        client_id: format!("{prefix}-pub"),
        credentials: None,
        topic_prefix: prefix.clone(),
        site: "site-a".into(),
        ward: "ward-3".into(),
    };
    mqtt::spawn(cfg, rx, stop_rx.clone());
    let (live, live_rx) = broadcast::channel::<LiveBatch>(16);
    let engine = EngineConfig::new("site-a", "mq");
    let (handle, _task) = runtime::spawn(
        RuntimeConfig::new(engine),
        live_rx,
        None,
        vec![sink],
        AlertingMetrics::unregistered(),
        stop_rx,
    );
    let at = Clock::start().now().as_micros();
    let sample = Sample {
        time_us: at,
        received_us: at,
        origin: Origin::new("site-a", "bed-12", "mon-1"),
        metric: Metric::Spo2,
        value: 75.0,
        quality: Quality::empty(),
    };
    live.send(vec![sample].into()).unwrap();
    let publish = loop {
        let polled = tokio::time::timeout(Duration::from_secs(10), sub_loop.poll()).await;
        if let Event::Incoming(Packet::Publish(p)) = polled.expect("a publish within 10 s").unwrap()
        {
            if p.topic.ends_with("/alarm/spo2_desat") {
                break p;
            }
        }
    };
    assert_eq!(
        publish.topic,
        format!("{prefix}/site-a/ward/ward-3/bed/bed-12/alarm/spo2_desat")
    );
    assert_eq!(publish.qos, QoS::AtLeastOnce);
    let body: serde_json::Value = serde_json::from_slice(&publish.payload).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["data"]["change"].as_str()),
        (Some("alarm:raised"), Some("raised"))
    );
    handle
        .acknowledge("bed-12", "spo2_desat", "nurse")
        .await
        .unwrap();
    let next = loop {
        if let Event::Incoming(Packet::Publish(p)) = sub_loop.poll().await.unwrap() {
            if p.topic.ends_with("/alarm/spo2_desat") {
                break p;
            }
        }
    };
    let body: serde_json::Value = serde_json::from_slice(&next.payload).unwrap();
    assert_eq!(body["data"]["change"], "acknowledged");
    stop.send_replace(true);
}

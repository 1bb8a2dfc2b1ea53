use super::*;
use crate::{Metric, Unit, Validity};

const EUI: &str = "0012AB00FFFE0001";
const OTHER_EUI: &str = "0012AB00FFFE0002";

fn message(pv1: &str, obx18: &str, extra: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|B40^{EUI}^EUI-64|ICU|||20240501103000+0000||ORU^R01^ORU_R01|MSG0001|P|2.6\r\
         PID|||4711\r\
         PV1||I|{pv1}\r\
         OBR|1|||182777000^monitoring of patient^SCT|||20240501103000+0000\r\
         OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X\r\
         OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||||||{obx18}\r\
         OBX|3|NM|0002-4bb8^SpO2^MDIL|1.1.1.2|97|0004-0220^%^MDIL|||||R\r{extra}"
    )
    .into_bytes()
}

fn device(id: &str, eui: &str, bed: Option<&str>) -> KnownDevice {
    KnownDevice {
        device_id: id.to_owned(),
        eui64: u64::from_str_radix(eui, 16).unwrap(),
        bed_id: bed.map(str::to_owned),
    }
}

fn bed(location: &str, bed_id: &str) -> KnownBed {
    KnownBed {
        location: KnownBed::parse_location(location).unwrap(),
        bed_id: bed_id.to_owned(),
    }
}

#[test]
fn configured_device_with_its_own_bed_gets_every_reading() {
    let routing = Routing::new(
        &[device("b40-3", EUI, Some("bed-3"))],
        &[],
        UnknownSenders::Reject,
    );
    let routed = routing.route(&message("", "", ""), None).unwrap();
    assert_eq!(routed.header.control_id, "MSG0001");
    assert_eq!(routed.batches.len(), 1);
    let batch = &routed.batches[0];
    assert_eq!(batch.device, DeviceRef::new("b40-3", "bed-3"));
    assert!(batch.configured);
    let got: Vec<_> = batch.readings.iter().map(|r| (r.metric, r.value)).collect();
    assert_eq!(got, [(Metric::HeartRate, 80.0), (Metric::Spo2, 97.0)]);
    assert!(batch.readings.iter().all(|r| r.device_time.is_some()));
    assert_eq!(routed.ack(), (AckCode::Accept, None));
}

#[test]
fn pv1_location_names_the_bed_and_obx18_the_device() {
    let routing = Routing::new(
        &[device("b40-3", EUI, None), device("b40-4", OTHER_EUI, None)],
        &[bed("ICU^301^3", "bed-3")],
        UnknownSenders::Reject,
    );
    let obx18 = format!("{OTHER_EUI}^^{OTHER_EUI}^EUI-64");
    let routed = routing
        .route(&message("ICU^301^3", &obx18, ""), None)
        .unwrap();
    let devices: Vec<_> = routed.batches.iter().map(|b| b.device.clone()).collect();
    // HR carries OBX-18 of the second device; SpO2 falls back to MSH-3.
    assert_eq!(
        devices,
        [
            DeviceRef::new("b40-4", "bed-3"),
            DeviceRef::new("b40-3", "bed-3")
        ]
    );
}

#[test]
fn unknown_device_is_refused_with_ae_unless_accepted_by_policy() {
    let beds = [bed("ICU^301^3", "bed-3")];
    let strict = Routing::new(&[], &beds, UnknownSenders::Reject);
    let refusal = strict
        .route(&message("ICU^301^3", "", ""), None)
        .unwrap_err();
    assert_eq!(
        (refusal.code, refusal.kind, refusal.detail.condition),
        (AckCode::Error, "unknown_device", 204)
    );
    assert!(refusal.detail.text.contains(EUI), "{}", refusal.detail.text);
    assert_eq!(refusal.header.control_id, "MSG0001");

    let open = Routing::new(&[], &beds, UnknownSenders::Accept);
    let routed = open.route(&message("ICU^301^3", "", ""), None).unwrap();
    let batch = &routed.batches[0];
    assert_eq!(batch.device, DeviceRef::new(&format!("hl7-{EUI}"), "bed-3"));
    assert!(!batch.configured);
    let no_bed = open.route(&message("ICU^301^9", "", ""), None).unwrap_err();
    assert_eq!(no_bed.kind, "unknown_bed");
    assert!(no_bed.detail.text.contains("`ICU^301^9`"), "{no_bed:?}");
}

#[test]
fn bed_conflict_refuses_the_whole_message() {
    let routing = Routing::new(
        &[device("b40-3", EUI, Some("bed-3"))],
        &[bed("ICU^301^4", "bed-4"), bed("ICU^301^3", "bed-3")],
        UnknownSenders::Reject,
    );
    let refusal = routing
        .route(&message("ICU^301^4", "", ""), None)
        .unwrap_err();
    assert_eq!(refusal.kind, "bed_conflict");
    assert!(routing.route(&message("ICU^301^3", "", ""), None).is_ok());
    // An unconfigured PV1-3 leaves the device's own bed.
    let routed = routing.route(&message("ER^1^1", "", ""), None).unwrap();
    assert_eq!(&*routed.batches[0].device.bed_id, "bed-3");
}

#[test]
fn bad_observation_gives_ae_after_the_rest_is_routed() {
    let routing = Routing::new(
        &[device("b40-3", EUI, Some("bed-3"))],
        &[],
        UnknownSenders::Reject,
    );
    let extra = "OBX|4|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.3.1.1|12O|266016^MDC_DIM_MMHG^MDC|||||R\r\
                 OBX|5|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.3.1.2||266016^MDC_DIM_MMHG^MDC|||||X\r\
                 OBX|6|NM|99999^MDC_VENDOR_THING^MDC|1.3.1.3|5|262688^MDC_DIM_PERCENT^MDC|||||R\r";
    let routed = routing.route(&message("", "", extra), None).unwrap();
    assert_eq!(routed.batches[0].readings.len(), 2);
    let (code, detail) = routed.ack();
    assert_eq!(code, AckCode::Error);
    let detail = detail.unwrap();
    assert_eq!(detail.location.unwrap().to_string(), "OBX[4]-5");
    assert_eq!(routed.unknown.len(), 1, "the vendor code is kept raw");
    assert_eq!(routed.unknown[0].observation.code.identifier, "99999");
}

/// (device id, status name, value, unit) of every filed unknown observation.
fn filed(routed: &Routed) -> Vec<(String, String, StatusData, Option<Unit>)> {
    routed
        .unknown
        .iter()
        .map(|f| {
            let s = &f.status;
            (
                f.device_id.to_string(),
                s.name.clone(),
                s.value.clone(),
                s.unit,
            )
        })
        .collect()
}

#[test]
fn unknown_codes_are_filed_under_their_device_with_the_raw_code() {
    let stranger = "0012AB00FFFE0009";
    let extra = format!(
        "OBX|4|NM|99999^MDC_VENDOR_THING^MDC|1.3.1.3|5|262688^MDC_DIM_PERCENT^MDC|||||R|||||||{OTHER_EUI}^^{OTHER_EUI}^EUI-64\r\
         OBX|5|ST|68480^MDC_ATTR_ALERT_TYPE^MDC||tech alarm|||||R\r\
         OBX|6|NM|0002-f00d^Flow^99VND|1.2.1.9|3.5|furlongs|||||R|||||||{stranger}^^{stranger}^EUI-64\r"
    );
    let devices = [
        device("b40-3", EUI, Some("bed-3")),
        device("b40-4", OTHER_EUI, Some("bed-4")),
    ];
    let routing = Routing::new(&devices, &[], UnknownSenders::Reject);
    let routed = routing.route(&message("", "", &extra), None).unwrap();
    assert_eq!(
        routed.ack(),
        (AckCode::Accept, None),
        "unknowns never refuse"
    );
    assert_eq!(routed.batches.len(), 1, "the readings stay with b40-3");
    let text = StatusData::Text("tech alarm".to_owned());
    assert_eq!(
        filed(&routed),
        [
            // OBX-18 names the second device.
            (
                "b40-4".to_owned(),
                "hl7:99999^MDC/1.3.1.3".to_owned(),
                StatusData::Number(5.0),
                Some(Unit::Percent)
            ),
            // No OBX-18, no sub-id: MSH-3 names the device.
            ("b40-3".to_owned(), "hl7:68480^MDC".to_owned(), text, None),
            // An EUI-64 no device has: the listener, with the EUI-64 kept.
            (
                LISTENER_ID.to_owned(),
                format!("hl7:0002-f00d^99VND/1.2.1.9@{stranger}"),
                StatusData::Number(3.5),
                None
            ),
        ]
    );

    // Accepted senders keep their unknowns under their own device id.
    let open = Routing::new(&devices, &[], UnknownSenders::Accept);
    let routed = open.route(&message("", "", &extra), None).unwrap();
    let got = filed(&routed);
    assert_eq!(got[2].0, format!("hl7-{stranger}"));
    assert_eq!(got[2].1, "hl7:0002-f00d^99VND/1.2.1.9");
}

#[test]
fn invalid_status_and_escapes_survive_routing() {
    let routing = Routing::new(
        &[device("b40-3", EUI, None)],
        &[bed("ICU\\S\\A^301^3", "bed-3")],
        UnknownSenders::Reject,
    );
    // The configured location is compared after unescaping PV1-3: an escaped
    // component separator is part of the name.
    let routing_plain = Routing::new(
        &[device("b40-3", EUI, None)],
        &[KnownBed {
            location: ["ICU^A".to_owned(), "301".to_owned(), "3".to_owned()],
            bed_id: "bed-3".to_owned(),
        }],
        UnknownSenders::Reject,
    );
    let extra =
        "OBX|4|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.3|40|262688^MDC_DIM_PERCENT^MDC|||||X\r";
    let msg = message("ICU\\S\\A^301^3", "", extra);
    assert!(routing.route(&msg, None).is_err());
    let routed = routing_plain.route(&msg, None).unwrap();
    let last = routed.batches[0].readings.last().unwrap();
    assert_eq!((last.value, last.validity), (40.0, Validity::Invalid));
}

#[test]
fn unsupported_and_unparsable_messages_get_ar_with_the_control_id() {
    let routing = Routing::default();
    let adt = b"MSH|^~\\&|A|B|||20240501||ADT^A01|C42|P|2.6\rPID|||1\r";
    let refusal = routing.route(adt, None).unwrap_err();
    assert_eq!(
        (refusal.code, refusal.kind, refusal.detail.condition),
        (AckCode::Reject, "unsupported", 200)
    );
    assert_eq!(refusal.header.control_id, "C42");
    let broken = b"MSH|^~\\&|A|B|||20240501||ORU^R01|C43|P|2.6\robx|1\r";
    let refusal = routing.route(broken, None).unwrap_err();
    assert_eq!((refusal.code, refusal.kind), (AckCode::Reject, "malformed"));
    assert_eq!(refusal.header.control_id, "C43");
    let garbage = routing.route(b"\x00\x01hello", None).unwrap_err();
    assert_eq!(garbage.header.control_id, "");
}

#[test]
fn locations_parse_with_up_to_three_parts() {
    assert_eq!(
        KnownBed::parse_location("ICU^^3").unwrap(),
        ["ICU".to_owned(), String::new(), "3".to_owned()]
    );
    assert_eq!(
        KnownBed::parse_location("ICU").unwrap(),
        ["ICU".to_owned(), String::new(), String::new()]
    );
    assert!(KnownBed::parse_location("a^b^c^d").is_err());
    assert!(KnownBed::parse_location("^^").is_err());
}

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_modbus::client::{Context, Reader as _};
use tokio_modbus::slave::{Slave, SlaveContext as _};

use super::*;
use crate::modbus::mapping::{decode, Decoded, Slice};
use crate::modbus::status::{StatusData, StatusValue};
use crate::profile::modbus::Table;
use crate::profile::Profile;

const FRIDGE: &str = r#"
name = "sim-fridge"
silence_timeout_ms = 30000

[modbus]
poll_interval_ms = 1000
timeout_ms = 500

[[modbus.values]]
table = "input_register"
address = 0
type = "i16"
scale = 0.1
metric = "fridge_temperature"

[[modbus.values]]
table = "input_register"
address = 2
type = "f32"
word_order = "little"
metric = "ambient_temperature"
unit = "[degF]"

[[modbus.values]]
table = "input_register"
address = 4
scale = 0.1
status = "vacuum_pressure"
type = "i16"
unit = "kPa"

[[modbus.values]]
table = "holding_register"
address = 10
status = "door_open"
bit = 2

[[modbus.values]]
table = "discrete_input"
address = 3
status = "power_failure"

[[modbus.values]]
table = "holding_register"
address = 20
type = "string"
length_registers = 4
status = "serial_number"
"#;

fn fridge() -> (ModbusSim, Arc<ModbusProfile>) {
    let profile = Arc::new(Profile::parse(FRIDGE).unwrap().modbus.unwrap());
    let sim = ModbusSim::new();
    sim.add_profile(1, profile.clone(), 7);
    (sim, profile)
}

/// Every value of unit 1 as the adapter would decode it.
fn read_all(sim: &ModbusSim, profile: &ModbusProfile) -> Vec<Decoded> {
    sim.with_bank(1, |bank| {
        profile
            .values
            .iter()
            .map(|v| {
                let got = if v.table.is_bits() {
                    decode(v, Slice::Bits(&bank.bits(v.table, v.start(), 1)))
                } else {
                    decode(
                        v,
                        Slice::Registers(&bank.registers(v.table, v.start(), v.width())),
                    )
                };
                got.unwrap()
            })
            .collect()
    })
    .unwrap()
}

fn number(d: &Decoded) -> f64 {
    match d {
        Decoded::Reading(r) => r.value,
        Decoded::Status(StatusValue {
            value: StatusData::Number(n),
            ..
        }) => *n,
        other => panic!("{other:?}"),
    }
}

fn status(d: &Decoded) -> &StatusData {
    match d {
        Decoded::Status(s) => &s.value,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_profile_unit_starts_at_typical_values_in_the_profiles_encoding() {
    let (sim, profile) = fridge();
    let got = read_all(&sim, &profile);
    assert!((number(&got[0]) - 5.0).abs() < 1e-9, "{got:?}");
    // 22 Cel in the profile's Fahrenheit, through a word-swapped f32.
    assert!((number(&got[1]) - 71.6).abs() < 1e-4, "{got:?}");
    assert!((number(&got[2]) - -60.0).abs() < 1e-9, "{got:?}");
    assert_eq!(status(&got[3]), &StatusData::Flag(false));
    assert_eq!(status(&got[4]), &StatusData::Flag(false));
    assert_eq!(status(&got[5]), &StatusData::Text("SIM-1".into()));
}

#[test]
fn values_wander_slowly_around_their_baseline() {
    let (sim, profile) = fridge();
    let mut last = 5.0;
    for _ in 0..2_000 {
        sim.tick();
        let t = number(&read_all(&sim, &profile)[0]);
        assert!((4.0..=6.0).contains(&t), "{t}");
        assert!((t - last).abs() <= 0.2 + 1e-9, "{last} -> {t}");
        last = t;
    }
}

#[test]
fn flags_and_numbers_are_set_through_the_profile() {
    let (sim, profile) = fridge();
    assert!(sim.set_flag(1, "door_open", true));
    assert!(sim.set_flag(1, "power_failure", true));
    assert!(sim.set_number(1, "fridge_temperature", 9.5));
    assert!(!sim.set_number(1, "door_open", 1.0));
    assert!(!sim.set_flag(2, "door_open", true));
    let got = read_all(&sim, &profile);
    assert_eq!(
        (status(&got[3]), status(&got[4])),
        (&StatusData::Flag(true), &StatusData::Flag(true))
    );
    assert!((number(&got[0]) - 9.5).abs() < 1e-9);
    assert_eq!(
        sim.with_bank(1, |b| b.registers(Table::HoldingRegister, 10, 1)),
        Some(vec![0b100])
    );
    // The walk now wanders around the new value.
    sim.tick();
    assert!((number(&read_all(&sim, &profile)[0]) - 9.5).abs() < 0.2);
}

#[test]
fn faults_silence_slow_or_refuse_a_unit() {
    let (sim, _) = fridge();
    let read = [0x04, 0x00, 0x00, 0x00, 0x01];
    assert!(matches!(sim.respond(1, &read), Reply::Send(_, d) if d.is_zero()));
    assert_eq!(sim.respond(9, &read), Reply::Nothing);
    sim.set_fault(1, Some(Fault::Silent));
    assert_eq!(sim.respond(1, &read), Reply::Nothing);
    sim.set_fault(1, Some(Fault::Exception(ExceptionCode::SERVER_DEVICE_BUSY)));
    assert_eq!(
        sim.respond(1, &read),
        Reply::Send(vec![0x84, 0x06], Duration::ZERO)
    );
    sim.set_fault(1, Some(Fault::Slow(Duration::from_millis(300))));
    assert!(matches!(sim.respond(1, &read), Reply::Send(_, d) if d == Duration::from_millis(300)));
    sim.set_fault(1, None);
    assert!(matches!(sim.respond(1, &read), Reply::Send(_, d) if d.is_zero()));
}

async fn read_regs(
    ctx: &mut Context,
    unit: u8,
    address: u16,
    count: u16,
) -> Option<Result<Vec<u16>, u8>> {
    ctx.set_slave(Slave(unit));
    match tokio::time::timeout(
        Duration::from_millis(300),
        ctx.read_input_registers(address, count),
    )
    .await
    {
        Ok(Ok(Ok(words))) => Some(Ok(words)),
        Ok(Ok(Err(code))) => Some(Err(u8::from(code))),
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => None,
    }
}

#[tokio::test]
async fn the_tcp_server_answers_an_independent_client() {
    let (sim, _) = fridge();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = watch::channel(false);
    let server = tokio::spawn(serve_tcp(listener, sim.clone(), shutdown));

    let mut ctx = tokio_modbus::client::tcp::connect(addr).await.unwrap();
    assert_eq!(read_regs(&mut ctx, 1, 0, 1).await, Some(Ok(vec![50])));
    sim.set_fault(
        1,
        Some(Fault::Exception(ExceptionCode::ILLEGAL_DATA_ADDRESS)),
    );
    assert_eq!(read_regs(&mut ctx, 1, 0, 1).await, Some(Err(0x02)));
    sim.set_fault(1, Some(Fault::Silent));
    assert_eq!(read_regs(&mut ctx, 1, 0, 1).await, None);
    stop.send(true).unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn the_rtu_server_answers_an_independent_client_over_a_byte_stream() {
    let (sim, _) = fridge();
    sim.add_unit(5);
    sim.with_bank(5, |b| {
        b.set_registers(Table::InputRegister, 100, &[0xBEEF, 0x0102])
    });
    let (client_end, server_end) = tokio::io::duplex(512);
    let (stop, shutdown) = watch::channel(false);
    let server = tokio::spawn(serve_rtu(server_end, sim.clone(), shutdown));

    let mut ctx = tokio_modbus::client::rtu::attach(client_end);
    assert_eq!(
        read_regs(&mut ctx, 5, 100, 2).await,
        Some(Ok(vec![0xBEEF, 0x0102]))
    );
    assert_eq!(read_regs(&mut ctx, 1, 0, 1).await, Some(Ok(vec![50])));
    // Nobody is unit 9: the bus stays quiet.
    assert_eq!(read_regs(&mut ctx, 9, 0, 1).await, None);
    stop.send(true).unwrap();
    server.await.unwrap();
}

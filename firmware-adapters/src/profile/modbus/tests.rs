use super::*;
use crate::check::{deserialize_all, parse_table};
use crate::profile::{DeviceConfig, Profile, Protocol};

const FRIDGE: &str = r#"
name = "test-fridge"
silence_timeout_ms = 30000

[modbus]
poll_interval_ms = 5000
timeout_ms = 1000

[[modbus.values]]
table = "input_register"
address = 0
type = "i16"
scale = 0.1
metric = "fridge_temperature"

[[modbus.values]]
table = "holding_register"
address = 10
status = "door_open"
bit = 0

[[modbus.values]]
table = "holding_register"
address = 10
status = "temperature_alarm"
bit = 3

[[modbus.values]]
table = "holding_register"
address = 20
type = "string"
length_registers = 4
status = "serial_number"
"#;

fn problems(text: &str) -> Vec<String> {
    Profile::parse(text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn with_value(extra: &str) -> String {
    format!("{FRIDGE}\n[[modbus.values]]\n{extra}\n")
}

#[test]
fn register_map_parses_with_defaults() {
    let p = Profile::parse(FRIDGE).unwrap();
    assert_eq!(p.protocol(), Protocol::Modbus);
    let m = p.modbus.unwrap();
    assert_eq!(
        (m.max_gap_addresses, m.backoff_initial_ms, m.backoff_max_ms),
        (8, 1000, 60_000)
    );
    let temp = &m.values[0];
    assert_eq!(
        (temp.data_type(), temp.width(), temp.word_order()),
        (DataType::I16, 1, Order::Big)
    );
    assert_eq!(
        temp.meaning(),
        Meaning::Metric {
            metric: Metric::FridgeTemperature,
            unit: Unit::Celsius
        }
    );
    assert_eq!(
        m.values[1].meaning(),
        Meaning::Status {
            name: "door_open",
            bit: Some(0),
            unit: None,
            alarm: None,
        }
    );
    assert_eq!(m.values[3].width(), 4);
}

#[test]
fn impossible_timing_is_reported_with_key_paths() {
    let text = FRIDGE
        .replace(
            "poll_interval_ms = 5000",
            "poll_interval_ms = 1000\nbackoff_initial_ms = 0",
        )
        .replace("timeout_ms = 1000", "timeout_ms = 1500");
    assert_eq!(
        problems(&text),
        [
            "modbus.timeout_ms: must be less than poll_interval_ms (1000), or polls would pile up",
            "modbus.backoff_initial_ms: must be between 1 and backoff_max_ms (60000)",
        ]
    );
    let zero = FRIDGE.replace("timeout_ms = 1000", "timeout_ms = 0");
    assert_eq!(problems(&zero), ["modbus.timeout_ms: must be at least 1"]);
}

#[test]
fn vendor_reference_numbers_are_refused_with_the_pdu_address() {
    let found = problems(&with_value(
        "table = \"holding_register\"\naddress = 40001\nstatus = \"x\"",
    ));
    assert_eq!(
        found,
        ["modbus.values[4].address: `40001` looks like vendor 4xxxx numbering; the profile takes \
          the 0-based PDU address: table = \"holding_register\", address = 0"]
    );
    let found = problems(&with_value(
        "table = \"input_register\"\naddress = 30012\nstatus = \"x\"",
    ));
    assert!(
        found[0].ends_with("table = \"input_register\", address = 11"),
        "{found:?}"
    );
    let found = problems(&with_value(
        "table = \"input_register\"\naddress = 400101\nstatus = \"x\"",
    ));
    assert!(
        found[0].ends_with("table = \"holding_register\", address = 100"),
        "{found:?}"
    );
    let found = problems(&with_value(
        "table = \"coil\"\naddress = 70000\nstatus = \"x\"",
    ));
    assert_eq!(
        found,
        ["modbus.values[4].address: `70000` is beyond the PDU address range 0 to 65535"]
    );
    // An input register number in the holding table is unusual, not vendor numbering.
    assert!(Profile::parse(&with_value(
        "table = \"holding_register\"\naddress = 30001\nstatus = \"x\""
    ))
    .is_ok());
}

#[test]
fn values_that_share_registers_are_reported() {
    let found = problems(&with_value(
        "table = \"input_register\"\naddress = 0\ntype = \"u32\"\nstatus = \"x\"",
    ));
    assert_eq!(
        found,
        ["modbus.values[4].address: shares addresses with values[0] (input_register 0 to 0)"]
    );
    let found = problems(&with_value(
        "table = \"holding_register\"\naddress = 10\nbit = 3\nstatus = \"x\"",
    ));
    assert_eq!(found, ["modbus.values[4].address: shares the same bit as values[2] (holding_register 10 to 10)"]);
    let found = problems(&with_value(
        "table = \"holding_register\"\naddress = 23\nstatus = \"x\"",
    ));
    assert_eq!(
        found,
        ["modbus.values[4].address: shares addresses with values[3] (holding_register 20 to 23)"]
    );
    // The same address in another table is another register.
    assert!(Profile::parse(&with_value("table = \"coil\"\naddress = 0\nstatus = \"x\"")).is_ok());
}

#[test]
fn type_settings_that_cannot_apply_are_all_reported() {
    let text = with_value(
        "table = \"holding_register\"\naddress = 30\ntype = \"string\"\nword_order = \"little\"\n\
         scale = 2.0\nstatus = \"model\"\nunit = \"kPa\"",
    ) + "\n[[modbus.values]]\ntable = \"coil\"\naddress = 1\ntype = \"u16\"\nbit = 2\nmetric = \"spo2\"\n\
         \n[[modbus.values]]\ntable = \"input_register\"\naddress = 40\ntype = \"f32\"\nbit = 1\n\
         length_registers = 2\nstatus = \"y\"\n";
    assert_eq!(
        problems(&text),
        [
            "modbus.values[4].length_registers: a string needs its length in registers",
            "modbus.values[4].word_order: applies to 32- and 64-bit types only",
            "modbus.values[4].scale: scale and offset apply to numbers, not to bits or text",
            "modbus.values[4].unit: only a numeric status has a unit",
            "modbus.values[5].type: a coil is a single bit; leave out type",
            "modbus.values[5].bit: a coil is a single bit; leave out bit",
            "modbus.values[5].metric: spo2 needs a number; map bits and text to a status",
            "modbus.values[6].length_registers: only type string takes a length",
            "modbus.values[6].bit: picks a bit of an integer type (u16, i16, u32, i32)",
        ]
    );
}

#[test]
fn meaning_must_be_one_metric_or_one_status() {
    let text = with_value("table = \"input_register\"\naddress = 50\nmetric = \"ambient_temperature\"\nunit = \"kPa\"")
        + "\n[[modbus.values]]\ntable = \"input_register\"\naddress = 51\n\
           \n[[modbus.values]]\ntable = \"input_register\"\naddress = 52\nmetric = \"spo2\"\nstatus = \"s\"\n\
           \n[[modbus.values]]\ntable = \"input_register\"\naddress = 53\nmetric = \"fridge_temperature\"\n\
           \n[[modbus.values]]\ntable = \"input_register\"\naddress = 54\ntype = \"u32\"\nbit = 32\nstatus = \"door_open\"\n";
    assert_eq!(
        problems(&text),
        [
            "modbus.values[4].unit: kPa cannot measure ambient_temperature (canonical unit Cel)",
            "modbus.values[5].metric: needs a metric (a reading) or a status",
            "modbus.values[6].status: a value is a metric or a status, not both",
            "modbus.values[8].bit: must be below 32",
            "modbus.values[7].metric: `fridge_temperature` is already mapped by values[0]",
            "modbus.values[8].status: `door_open` is already mapped by values[1]",
        ]
    );
}

#[test]
fn unknown_keys_tables_and_metrics_are_reported_by_serde() {
    let text = with_value("table = \"holding\"\naddress = 1\nmetric = \"heartrate\"\nfunction = 3");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("modbus.values[4].table: unknown variant `holding`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("modbus.values[4].metric: unknown variant `heartrate`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("modbus.values[4].function: unknown key")),
        "{found:#?}"
    );
}

#[test]
fn a_modbus_profile_needs_values() {
    let text =
        "name = \"x\"\nsilence_timeout_ms = 1\n[modbus]\npoll_interval_ms = 10\ntimeout_ms = 5\n";
    assert_eq!(
        problems(text),
        ["modbus.values: needs at least one [[modbus.values]]"]
    );
}

fn device(text: &str) -> (Option<DeviceConfig>, Vec<String>) {
    let mut problems = Vec::new();
    let table = toml::Value::Table(parse_table(text).unwrap());
    let config: Option<DeviceConfig> = deserialize_all(table, "device[0]", &mut problems);
    if let Some(c) = &config {
        let profile = Profile::parse(FRIDGE).unwrap();
        c.validate(Some(&profile), "device[0]", &mut problems);
    }
    (config, problems.iter().map(ToString::to_string).collect())
}

const DEVICE: &str = "device_id = \"fridge-1\"\nbed_id = \"pharmacy\"\nprofile = \"test-fridge\"\n";

#[test]
fn tcp_connection_takes_defaults() {
    let (config, found) = device(&format!("{DEVICE}[modbus.tcp]\nhost = \"10.0.0.5\"\n"));
    assert!(found.is_empty(), "{found:?}");
    let expected = TcpConnection {
        host: "10.0.0.5".into(),
        port: 502,
        unit_id: 1,
    };
    assert_eq!(
        config.unwrap().modbus,
        Some(ModbusConnection::Tcp(expected))
    );
}

#[test]
fn rtu_settings_are_checked() {
    let text = format!(
        "{DEVICE}[modbus.rtu]\npath = \"/dev/ttyUSB0\"\nbaud_rate = 19200\nparity = \"even\"\nunit_id = 3\n"
    );
    let (config, found) = device(&text);
    assert!(found.is_empty(), "{found:?}");
    let Some(ModbusConnection::Rtu(rtu)) = config.unwrap().modbus else {
        panic!("not rtu")
    };
    assert_eq!(
        (rtu.data_bits, rtu.stop_bits, rtu.parity),
        (8, 1, Parity::Even)
    );

    let text = format!(
        "{DEVICE}[modbus.rtu]\npath = \"\"\nbaud_rate = 19200\ndata_bits = 7\nparity = \"odd\"\n\
         stop_bits = 3\nunit_id = 248\n"
    );
    assert_eq!(
        device(&text).1,
        [
            "device[0].modbus.rtu.path: must not be empty",
            "device[0].modbus.rtu.data_bits: must be 8: RTU frames are 8-bit (7 bits is Modbus ASCII)",
            "device[0].modbus.rtu.stop_bits: must be 1 or 2",
            "device[0].modbus.rtu.unit_id: must be between 1 and 247",
        ]
    );
}

#[test]
fn connection_is_tcp_or_rtu() {
    let (_, found) = device(&format!(
        "{DEVICE}[modbus.tcp]\nhost = \"h\"\nunit_id = 0\nbaud = 1\n"
    ));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("device[0].modbus.tcp.baud: unknown key")),
        "{found:?}"
    );
    let (_, found) = device(&format!("{DEVICE}[modbus.udp]\nhost = \"h\"\n"));
    assert_eq!(
        found,
        [
            "device[0].modbus.udp: unknown key `udp`, expected `tcp` or `rtu`",
            "device[0].modbus: needs exactly one of [device.modbus.tcp] and [device.modbus.rtu]",
        ]
    );
    let both = format!(
        "{DEVICE}[modbus.tcp]\nhost = \"h\"\n[modbus.rtu]\npath = \"p\"\nbaud_rate = 9600\n\
         parity = \"none\"\nunit_id = 1\n"
    );
    assert_eq!(
        device(&both).1,
        ["device[0].modbus: needs exactly one of [device.modbus.tcp] and [device.modbus.rtu]"]
    );
    let (_, found) = device(&format!(
        "{DEVICE}[modbus.tcp]\nhost = \"h\"\nunit_id = 0\n"
    ));
    assert_eq!(
        found,
        ["device[0].modbus.tcp.unit_id: must be between 1 and 247"]
    );
}

#[test]
fn only_flag_statuses_can_be_device_alarms() {
    let ok = with_value(
        "table = \"discrete_input\"\naddress = 0\nstatus = \"door_alarm\"\nalarm_priority = \"low\"",
    ) + "\n[[modbus.values]]\ntable = \"input_register\"\naddress = 30\nbit = 2\n\
         status = \"high_temperature_alarm\"\nalarm_priority = \"high\"\n";
    let p = Profile::parse(&ok).unwrap();
    let m = p.modbus.unwrap();
    let alarms: Vec<_> = m
        .values
        .iter()
        .filter_map(|v| match v.meaning() {
            Meaning::Status { name, alarm, .. } => alarm.map(|a| (name, a)),
            Meaning::Metric { .. } => None,
        })
        .collect();
    assert_eq!(
        alarms,
        [
            ("door_alarm", AlarmPriority::Low),
            ("high_temperature_alarm", AlarmPriority::High)
        ]
    );

    let bad = with_value(
        "table = \"input_register\"\naddress = 40\nstatus = \"pressure\"\nalarm_priority = \"medium\"",
    ) + "\n[[modbus.values]]\ntable = \"input_register\"\naddress = 41\nmetric = \"spo2\"\n\
         alarm_priority = \"high\"\n";
    assert_eq!(
        problems(&bad),
        [
            "modbus.values[4].alarm_priority: only a flag status (a coil, a discrete input or \
             a register bit) can be a device alarm",
            "modbus.values[5].alarm_priority: only a flag status (a coil, a discrete input or \
             a register bit) can be a device alarm",
        ]
    );
    let unknown =
        with_value("table = \"coil\"\naddress = 0\nstatus = \"x\"\nalarm_priority = \"critical\"");
    let found = problems(&unknown);
    assert!(
        found[0].starts_with("modbus.values[4].alarm_priority: unknown variant `critical`"),
        "{found:#?}"
    );
}

"""Publishes one MQTT message with paho-mqtt, as an independent device would.

Usage: mqtt_publish.py HOST PORT TOPIC QOS PAYLOAD [USERNAME PASSWORD]

Prints PUBLISHED once the broker has acknowledged the message (QoS 1) or it has
been written (QoS 0), and exits 0. Any failure exits non-zero with a message.
"""

import sys

import paho.mqtt.client as mqtt


def main() -> int:
    host, port, topic, qos, payload = sys.argv[1:6]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    if len(sys.argv) >= 8:
        client.username_pw_set(sys.argv[6], sys.argv[7])
    rc = client.connect(host, int(port), keepalive=30)
    if rc != mqtt.MQTT_ERR_SUCCESS:
        print(f"connect failed: {rc}", file=sys.stderr)
        return 1
    client.loop_start()
    info = client.publish(topic, payload.encode(), qos=int(qos))
    info.wait_for_publish(timeout=10)
    if not info.is_published():
        print("publish not acknowledged", file=sys.stderr)
        return 1
    print("PUBLISHED", flush=True)
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

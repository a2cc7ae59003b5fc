"""The MQTT node pack: mqtt-broker and tls-config config nodes, mqtt in, mqtt out."""

from .nodes import MqttBroker, MqttIn, MqttOut, TlsConfig

NODES = [TlsConfig, MqttBroker, MqttIn, MqttOut]

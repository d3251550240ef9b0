"""Sinks: where events frames go once simulated.

:mod:`customersim.sinks.files` writes and reads CSV and Parquet datasets;
:mod:`customersim.sinks.mqtt` publishes events live on an MQTT broker. Sinks take frames (or
streams of frames); they never simulate.
"""

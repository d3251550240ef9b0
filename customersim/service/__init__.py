"""The live service's faces besides MQTT: the scheduler that feeds the publisher, and HTTP.

``customersim run`` publishes an endless simulation; this package lets people act on it while it
runs:

- :mod:`~customersim.service.stream`: :class:`LiveStream`, the source the publisher reads. It
  releases simulated events when their time comes, plays scripted customers in between
  (nobody inside twice, see :mod:`customersim.mixing`), sends hand-made events at once, and
  pauses or resumes the simulated crowd;
- :mod:`~customersim.service.http`: the FastAPI app (the old service's ``/produce_*``, the
  scenario player's ``/scenario``, health, readiness, state, start/stop, Prometheus metrics);
- :mod:`~customersim.service.metrics`: the Prometheus collector;
- :mod:`~customersim.service.settings`: the HTTP settings (port, address, token);
- :mod:`~customersim.service.server`: uvicorn in a thread of the service's process.

FastAPI, uvicorn and prometheus-client are imported only by the modules that need them.
"""

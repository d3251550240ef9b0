# customersim as a container: the live service (`customersim run`) with its HTTP API on port
# 8000, publishing to the broker named by MQTT_HOST. The same image runs the Streamlit app
# (see compose.yaml). No container engine was available where this recipe was written:
# tests/test_container.py checks it by parsing, not by building.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/customersim

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml README.md app.py ./
COPY customersim ./customersim
RUN pip install --no-deps .

# An unprivileged user; its home is the working folder, where the service's log file goes.
RUN useradd --create-home --home-dir /home/customersim --uid 10001 customersim
USER customersim
WORKDIR /home/customersim

# Inside a container the API must listen on every interface to be reachable through a
# published port; set HTTP_TOKEN whenever that port is reachable by others.
ENV HTTP_HOST=0.0.0.0 \
    LOG_FILENAME=/home/customersim/messages.log
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthcheck', timeout=4)"]

ENTRYPOINT ["customersim"]
CMD ["run", "--http-port", "8000"]

# Prometheus from Debian's package, for machines that cannot pull prom/prometheus. The build
# context holds this file and the prometheus binary (`ebbtide kind images` lays it out). BASE_IMAGE
# is a Debian userland the binary links against.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY prometheus /usr/bin/prometheus
USER 65534:65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]

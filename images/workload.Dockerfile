# The demo workload: an HTTP service with a configurable start-up time that exports its request
# count for Prometheus (`ebbtide workload serve --help`). Built on the ebbtide image:
#   docker build -f images/workload.Dockerfile --build-arg EBBTIDE_IMAGE=ebbtide:0.1.0 -t ebbtide-workload images
ARG EBBTIDE_IMAGE=ebbtide:0.1.0
FROM ${EBBTIDE_IMAGE}
EXPOSE 8080
ENTRYPOINT ["ebbtide", "workload", "serve"]

# The load generator: sends HTTP requests at a rate that follows the demo's load pattern
# (`ebbtide workload load --help`). Built on the ebbtide image:
#   docker build -f images/loadgen.Dockerfile --build-arg EBBTIDE_IMAGE=ebbtide:0.1.0 -t ebbtide-loadgen images
ARG EBBTIDE_IMAGE=ebbtide:0.1.0
FROM ${EBBTIDE_IMAGE}
ENTRYPOINT ["ebbtide", "workload", "load"]

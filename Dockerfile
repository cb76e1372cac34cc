# The one image the manifests reference (image.repository / image.tag): the CNI plugin, which is also
# the node installer, and the operator, both single executables from `npm run build`.
#
#   npm ci && npm run build && docker build -t ghcr.io/spiderpool-ts/spiderpool-ts:<tag> .
#
# Bun-compiled executables link glibc dynamically, hence a glibc base. The node installer copies
# /usr/local/bin/spiderpool onto the host, so the hosts need glibc too (Go-built CNI plugins are
# static; this one is not).
FROM debian:bookworm-slim
COPY dist/bin/spiderpool dist/bin/spiderpool-operator /usr/local/bin/
USER 0
ENTRYPOINT ["/usr/local/bin/spiderpool-operator"]

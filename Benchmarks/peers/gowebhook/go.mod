module irsa-webhook/benchmarks/gowebhook

go 1.22

docker {
  host       = "tcp://127.0.0.1:2376"
  tls_verify = "definitely" # ERROR: Incorrect attribute value type
}

exec "x" {
  command = ["a", "b"
} # ERROR: Missing item separator

docker { host = "unix:///var/run/docker.sock" }
docker { host = "tcp://127.0.0.1:2375" } # ERROR: Duplicate docker block

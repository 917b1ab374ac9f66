registry "own" { address = "127.0.0.1:5001" } # ERROR: Block not allowed in a module
docker { host = "unix:///var/run/docker.sock" } # ERROR: Block not allowed in a module
exec "run" { command = ["echo", registry.main.address] }

name: ${name}
replicas: ${replicas}

# RabbitMQ on a controller. ha.deploy runs ha.rabbitmq.cluster on one
# controller at a time (the first, then each joiner), then the access
# objects on the first.
include:
  - .install
  - .config
  - .service
  - .cluster
  - .watchdog
  - .access

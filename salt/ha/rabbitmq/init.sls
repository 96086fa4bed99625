# RabbitMQ on a controller. ha.deploy runs ha.rabbitmq.cluster on one
# controller at a time (the first, then each joiner), then the access
# objects on the first.
include:
  - ha.rabbitmq.install
  - ha.rabbitmq.config
  - ha.rabbitmq.service
  - ha.rabbitmq.cluster
  - ha.rabbitmq.watchdog
  - ha.rabbitmq.access

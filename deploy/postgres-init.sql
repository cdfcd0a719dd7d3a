-- One database per service: each service owns its event store and read models.
CREATE DATABASE passend_intake;
CREATE DATABASE passend_assignment;
CREATE DATABASE passend_trajectory;
CREATE DATABASE passend_notifications;
CREATE DATABASE passend_gateway;

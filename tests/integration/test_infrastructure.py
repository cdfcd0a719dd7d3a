"""The fixtures give a real PostgreSQL and a real Kafka-protocol broker over TCP."""

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from passend_devstack.infra import Broker


async def test_database_is_real_postgresql(pool: asyncpg.Pool) -> None:
    version = await pool.fetchval("SHOW server_version_num")
    assert int(version) >= 150000


async def test_broker_round_trip_over_tcp(broker: Broker, topic_name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic_name, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic_name, b"hello", key=b"case-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic_name, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        values = [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    assert values == [b"hello"]

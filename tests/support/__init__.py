"""The test harness: databases, a real server, an SMTP sink, the browser and axe-core."""

"""cityfeeds feeds: topics, feed building, rendering, publishing and serving."""

/** kafkajs fetch sizes for a bulk read: few, large fetches (the defaults are tuned for latency). */
export const BULK_FETCH = {
  maxBytesPerPartition: 8 * 1024 * 1024,
  maxBytes: 32 * 1024 * 1024,
  minBytes: 1024 * 1024,
  maxWaitTimeInMs: 100,
} as const;

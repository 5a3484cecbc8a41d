/**
 * The V8 flags the head runs with (`npm run cluster-head`, the `iotguard-cluster-head` bin's
 * shebang, the testkit's head processes). The young generation is capped at 4 MB per semi-space
 * (V8's default grows it to 16 MB): the head's garbage is short-lived request data, and the cap
 * kept the head's RSS at 10k devices at 135 MB instead of 192 MB (bench `scale`, two runs on one
 * commit; its cost in grants/s was not measured on its own). V8 reads it at start only, so it
 * cannot be set from inside the process.
 */
export const HEAD_NODE_FLAGS = ["--max-semi-space-size=4"] as const;

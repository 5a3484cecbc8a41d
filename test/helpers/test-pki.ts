/** The test PKI lives in testkit (the bench and the story's Mosquitto use it too): re-exported for the tests. */
export { makeTestPki, type TestPki } from "../../testkit/pki";

/**
 * The local development chain (`hardhat node`, chain ID 31337) and its well-known first account,
 * which deploys the registry there and so is its admin. Public test values, never for real funds:
 * only code that has checked it talks to chain 31337 may use the key.
 */

/** Chain ID of Hardhat's local network. */
export const LOCAL_CHAIN_ID = 31337;

/** Hardhat's well-known first development account: public test key, never for real funds. */
export const HARDHAT_DEV_ACCOUNT_0_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

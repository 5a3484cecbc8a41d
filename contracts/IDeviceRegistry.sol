// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDeviceRegistry
 * @notice The on-chain half of iotguard: which devices are enrolled, under which secp256k1 key
 * address, in which cluster, and who heads each cluster. The events carry everything an
 * off-chain index needs to rebuild the registry without calling the contract.
 */
interface IDeviceRegistry {
    /// @notice Whether a device may join its cluster.
    enum DeviceStatus {
        None,
        Active,
        Revoked
    }

    /// @notice One device, packed into a single storage slot (20 + 4 + 1 + 5 + 2 = 32 bytes).
    struct Device {
        address keyAddress;
        uint32 clusterId;
        DeviceStatus status;
        uint40 enrolledBlock;
        uint16 keyVersion;
    }

    /// @notice One cluster. Positions are micro-degrees; the radius is micro-degrees of arc.
    struct Cluster {
        address head;
        uint32 activeDevices;
        uint32 enrolledDevices;
        uint32 radius;
        int32 latitude;
        int32 longitude;
    }

    // ---- errors ----
    /// @notice The caller is not the registry admin.
    error DeviceRegistryNotAdmin(address caller);
    /// @notice The caller is not the pending admin, the only account that may accept the role.
    error DeviceRegistryNotPendingAdmin(address caller);
    /// @notice There is no admin transfer to cancel.
    error DeviceRegistryNoPendingAdmin();
    /// @notice The caller is not the head of `clusterId`.
    error DeviceRegistryNotClusterHead(uint32 clusterId, address caller);
    /// @notice `clusterId` has never been created.
    error DeviceRegistryUnknownCluster(uint32 clusterId);
    /// @notice `clusterId` exists already.
    error DeviceRegistryClusterExists(uint32 clusterId);
    /// @notice Cluster ID 0 is reserved to mean "no cluster".
    error DeviceRegistryInvalidClusterId();
    /// @notice A position or radius is out of range.
    error DeviceRegistryInvalidGeometry(int32 latitude, int32 longitude, uint32 radius);
    /// @notice The zero address was given where a key or account is required.
    error DeviceRegistryZeroAddress();
    /// @notice Device ID 0 is reserved.
    error DeviceRegistryInvalidDeviceId();
    /// @notice `deviceId` is (or was) enrolled; IDs are never reused, even after revocation.
    error DeviceRegistryAlreadyEnrolled(bytes32 deviceId);
    /// @notice `deviceId` has never been enrolled.
    error DeviceRegistryUnknownDevice(bytes32 deviceId);
    /// @notice `deviceId` is revoked; a revoked device can neither be revoked again nor rotated.
    error DeviceRegistryDeviceRevoked(bytes32 deviceId);
    /// @notice The new key is the key the device already has.
    error DeviceRegistrySameKey(bytes32 deviceId);
    /// @notice A batch had arrays of different lengths, or none.
    error DeviceRegistryBatchLengthMismatch(uint256 ids, uint256 keys);
    /// @notice The head's key address is already the head of another cluster.
    error DeviceRegistryHeadInUse(address head, uint32 clusterId);
    /// @notice A key rotation would overflow the 16-bit key version.
    error DeviceRegistryKeyVersionExhausted(bytes32 deviceId);

    // ---- events ----
    /// @notice Emitted when the admin role moves (also at deployment, from the zero address).
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);
    /// @notice Emitted when the admin offers the role to `newAdmin`, who must accept it.
    event AdminTransferStarted(address indexed admin, address indexed newAdmin);
    /// @notice Emitted when the admin withdraws the offer made to `cancelledAdmin`.
    event AdminTransferCancelled(address indexed admin, address indexed cancelledAdmin);
    /// @notice Emitted when a cluster is created with its head, centre and radius.
    event ClusterCreated(uint32 indexed clusterId, address indexed head, int32 latitude, int32 longitude, uint32 radius);
    /// @notice Emitted when a cluster's head is appointed, replaced or removed (`newHead` zero).
    event ClusterHeadChanged(uint32 indexed clusterId, address indexed previousHead, address indexed newHead);
    /// @notice Emitted for every enrolled device, single or batched.
    event DeviceEnrolled(bytes32 indexed deviceId, uint32 indexed clusterId, address keyAddress);
    /// @notice Emitted when a device is revoked.
    event DeviceRevoked(bytes32 indexed deviceId, uint32 indexed clusterId);
    /// @notice Emitted when a device's key changes; `keyVersion` counts rotations.
    event DeviceKeyRotated(
        bytes32 indexed deviceId, uint32 indexed clusterId, address previousKey, address newKey, uint16 keyVersion
    );

    // ---- admin ----
    function admin() external view returns (address);
    function pendingAdmin() external view returns (address);
    function transferAdmin(address newAdmin) external;
    function acceptAdmin() external;
    function cancelAdminTransfer() external;
    function createCluster(uint32 clusterId, address head, int32 latitude, int32 longitude, uint32 radius) external;
    function setClusterHead(uint32 clusterId, address newHead) external;

    // ---- cluster heads ----
    function enroll(uint32 clusterId, bytes32 deviceId, address keyAddress) external;
    function enrollBatch(uint32 clusterId, bytes32[] calldata deviceIds, address[] calldata keyAddresses) external;
    function revoke(bytes32 deviceId) external;
    function rotateKey(bytes32 deviceId, address newKeyAddress) external;

    // ---- views ----
    function isActive(bytes32 deviceId) external view returns (bool);
    function getDevice(bytes32 deviceId) external view returns (Device memory);
    function getCluster(uint32 clusterId) external view returns (Cluster memory);
    function clusterOf(address head) external view returns (uint32);
    function clusterCount() external view returns (uint256);
    function deviceCount() external view returns (uint256);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/**
 * @title DeviceRegistry
 * @notice Records enrolled IoT devices, their secp256k1 key addresses, their clusters and the
 * cluster heads. The admin (the deployer; handed on in two steps, offer then accept) creates
 * clusters and appoints or removes their heads;
 * only a cluster's head enrolls, revokes or rotates the keys of devices in its cluster.
 * @dev Errors and events live in {IDeviceRegistry}. A device record fits in one storage slot and
 * the per-cluster counters share the head's slot, so one enrollment writes one new slot and
 * updates one warm slot.
 */
contract DeviceRegistry is IDeviceRegistry {
    int32 private constant _MAX_LATITUDE = 90_000_000;
    int32 private constant _MAX_LONGITUDE = 180_000_000;
    uint32 private constant _MAX_RADIUS = 180_000_000;

    address private _admin;
    mapping(bytes32 deviceId => Device) private _devices;
    mapping(uint32 clusterId => Cluster) private _clusters;
    mapping(address head => uint32 clusterId) private _clusterOfHead;
    uint32[] private _clusterIds;
    // Declared last so the slots above keep their numbers.
    address private _pendingAdmin;

    /// @dev Makes the deployer the admin. May emit an {AdminTransferred} event.
    constructor() {
        _admin = msg.sender;
        emit AdminTransferred(address(0), msg.sender);
    }

    modifier onlyAdmin() {
        if (msg.sender != _admin) revert DeviceRegistryNotAdmin(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ admin

    /// @inheritdoc IDeviceRegistry
    function admin() external view returns (address) {
        return _admin;
    }

    /// @inheritdoc IDeviceRegistry
    function pendingAdmin() external view returns (address) {
        return _pendingAdmin;
    }

    /**
     * @notice Offers the admin role to `newAdmin`; the role moves only when `newAdmin` calls
     * {acceptAdmin}, so a mistyped address can never take it (OpenZeppelin's Ownable2Step).
     * @dev Requirements: the caller is the admin; `newAdmin` is not zero. A second offer replaces
     * the first. The caller stays admin until the offer is accepted.
     * May emit an {AdminTransferStarted} event.
     */
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert DeviceRegistryZeroAddress();
        _pendingAdmin = newAdmin;
        emit AdminTransferStarted(_admin, newAdmin);
    }

    /**
     * @notice Takes the admin role offered to the caller by {transferAdmin}.
     * @dev Requirements: the caller is the pending admin. Clears the offer.
     * May emit an {AdminTransferred} event.
     */
    function acceptAdmin() external {
        if (msg.sender != _pendingAdmin) revert DeviceRegistryNotPendingAdmin(msg.sender);
        address previous = _admin;
        _admin = msg.sender;
        delete _pendingAdmin;
        emit AdminTransferred(previous, msg.sender);
    }

    /**
     * @notice Withdraws the pending offer of the admin role.
     * @dev Requirements: the caller is the admin; an offer is pending.
     * May emit an {AdminTransferCancelled} event.
     */
    function cancelAdminTransfer() external onlyAdmin {
        address pending = _pendingAdmin;
        if (pending == address(0)) revert DeviceRegistryNoPendingAdmin();
        delete _pendingAdmin;
        emit AdminTransferCancelled(_admin, pending);
    }

    /**
     * @notice Creates cluster `clusterId`, headed by the key address `head`, centred at
     * (`latitude`, `longitude`) micro-degrees, admitting devices within `radius` micro-degrees of arc.
     * @dev Requirements: the caller is the admin; `clusterId` is not 0 and not taken; `head` is not
     * zero and heads no other cluster; latitude in ±90°, longitude in ±180°, 0 < radius ≤ 180°.
     * May emit a {ClusterCreated} event.
     */
    function createCluster(uint32 clusterId, address head, int32 latitude, int32 longitude, uint32 radius)
        external
        onlyAdmin
    {
        if (clusterId == 0) revert DeviceRegistryInvalidClusterId();
        if (_clusters[clusterId].radius != 0) revert DeviceRegistryClusterExists(clusterId);
        if (head == address(0)) revert DeviceRegistryZeroAddress();
        _requireHeadFree(head);
        if (
            latitude > _MAX_LATITUDE || latitude < -_MAX_LATITUDE || longitude > _MAX_LONGITUDE
                || longitude < -_MAX_LONGITUDE || radius == 0 || radius > _MAX_RADIUS
        ) revert DeviceRegistryInvalidGeometry(latitude, longitude, radius);

        _clusters[clusterId] = Cluster({
            head: head,
            activeDevices: 0,
            enrolledDevices: 0,
            radius: radius,
            latitude: latitude,
            longitude: longitude
        });
        _clusterOfHead[head] = clusterId;
        _clusterIds.push(clusterId);
        emit ClusterCreated(clusterId, head, latitude, longitude, radius);
    }

    /**
     * @notice Appoints `newHead` as the head of `clusterId`, or removes the head when `newHead` is
     * the zero address (the cluster's devices stay enrolled but nobody can change them until a new
     * head is appointed).
     * @dev Requirements: the caller is the admin; the cluster exists; a non-zero `newHead` heads no
     * other cluster. May emit a {ClusterHeadChanged} event.
     */
    function setClusterHead(uint32 clusterId, address newHead) external onlyAdmin {
        Cluster storage cluster = _existingCluster(clusterId);
        address previous = cluster.head;
        if (newHead != address(0)) _requireHeadFree(newHead);
        if (previous != address(0)) delete _clusterOfHead[previous];
        cluster.head = newHead;
        if (newHead != address(0)) _clusterOfHead[newHead] = clusterId;
        emit ClusterHeadChanged(clusterId, previous, newHead);
    }

    // ------------------------------------------------------------------ cluster heads

    /**
     * @notice Enrolls `deviceId` in `clusterId` with the secp256k1 key whose address is `keyAddress`.
     * @dev Requirements: the caller heads `clusterId`; `deviceId` is not 0 and was never enrolled;
     * `keyAddress` is not zero. May emit a {DeviceEnrolled} event.
     */
    function enroll(uint32 clusterId, bytes32 deviceId, address keyAddress) external {
        Cluster storage cluster = _headedCluster(clusterId);
        _enrollOne(clusterId, deviceId, keyAddress);
        unchecked {
            cluster.activeDevices += 1;
            cluster.enrolledDevices += 1;
        }
    }

    /**
     * @notice Enrolls many devices in `clusterId` in one transaction; all or nothing.
     * @dev Requirements: as {enroll} for every pair; both arrays have the same non-zero length.
     * May emit one {DeviceEnrolled} event per device.
     */
    function enrollBatch(uint32 clusterId, bytes32[] calldata deviceIds, address[] calldata keyAddresses)
        external
    {
        uint256 count = deviceIds.length;
        if (count == 0 || count != keyAddresses.length) {
            revert DeviceRegistryBatchLengthMismatch(count, keyAddresses.length);
        }
        Cluster storage cluster = _headedCluster(clusterId);
        for (uint256 i = 0; i < count;) {
            _enrollOne(clusterId, deviceIds[i], keyAddresses[i]);
            unchecked {
                ++i;
            }
        }
        // Counters are uint32: a batch large enough to overflow them cannot fit in a block.
        cluster.activeDevices += uint32(count);
        cluster.enrolledDevices += uint32(count);
    }

    /**
     * @notice Revokes `deviceId` for good: it can no longer join, and its ID is never reused.
     * @dev Requirements: the device exists and is active; the caller heads its cluster.
     * May emit a {DeviceRevoked} event.
     */
    function revoke(bytes32 deviceId) external {
        Device storage device = _activeDevice(deviceId);
        uint32 clusterId = device.clusterId;
        Cluster storage cluster = _headedCluster(clusterId);
        device.status = DeviceStatus.Revoked;
        unchecked {
            cluster.activeDevices -= 1;
        }
        emit DeviceRevoked(deviceId, clusterId);
    }

    /**
     * @notice Replaces the key address of `deviceId` with `newKeyAddress`.
     * @dev Requirements: the device exists and is active; the caller heads its cluster; the new
     * key is not zero and differs from the current one. May emit a {DeviceKeyRotated} event.
     */
    function rotateKey(bytes32 deviceId, address newKeyAddress) external {
        Device storage device = _activeDevice(deviceId);
        uint32 clusterId = device.clusterId;
        _headedCluster(clusterId);
        if (newKeyAddress == address(0)) revert DeviceRegistryZeroAddress();
        address previous = device.keyAddress;
        if (previous == newKeyAddress) revert DeviceRegistrySameKey(deviceId);
        uint16 version = device.keyVersion;
        if (version == type(uint16).max) revert DeviceRegistryKeyVersionExhausted(deviceId);
        unchecked {
            version += 1;
        }
        device.keyAddress = newKeyAddress;
        device.keyVersion = version;
        emit DeviceKeyRotated(deviceId, clusterId, previous, newKeyAddress, version);
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether `deviceId` is enrolled and not revoked.
    function isActive(bytes32 deviceId) external view returns (bool) {
        return _devices[deviceId].status == DeviceStatus.Active;
    }

    /// @notice The record of `deviceId`; all zero (status None) when it was never enrolled.
    function getDevice(bytes32 deviceId) external view returns (Device memory) {
        return _devices[deviceId];
    }

    /// @notice The record of `clusterId`; all zero when it does not exist.
    function getCluster(uint32 clusterId) external view returns (Cluster memory) {
        return _clusters[clusterId];
    }

    /// @notice The cluster that `head` heads, or 0 when it heads none.
    function clusterOf(address head) external view returns (uint32) {
        return _clusterOfHead[head];
    }

    /// @notice How many clusters were ever created.
    function clusterCount() external view returns (uint256) {
        return _clusterIds.length;
    }

    /// @notice How many devices were ever enrolled, over all clusters (revoked ones included).
    function deviceCount() external view returns (uint256 total) {
        uint256 length = _clusterIds.length;
        for (uint256 i = 0; i < length; ++i) {
            total += _clusters[_clusterIds[i]].enrolledDevices;
        }
    }

    // ------------------------------------------------------------------ internals

    function _enrollOne(uint32 clusterId, bytes32 deviceId, address keyAddress) private {
        if (deviceId == bytes32(0)) revert DeviceRegistryInvalidDeviceId();
        if (keyAddress == address(0)) revert DeviceRegistryZeroAddress();
        Device storage device = _devices[deviceId];
        if (device.status != DeviceStatus.None) revert DeviceRegistryAlreadyEnrolled(deviceId);
        _devices[deviceId] = Device({
            keyAddress: keyAddress,
            clusterId: clusterId,
            status: DeviceStatus.Active,
            enrolledBlock: uint40(block.number),
            keyVersion: 0
        });
        emit DeviceEnrolled(deviceId, clusterId, keyAddress);
    }

    function _existingCluster(uint32 clusterId) private view returns (Cluster storage cluster) {
        cluster = _clusters[clusterId];
        if (cluster.radius == 0) revert DeviceRegistryUnknownCluster(clusterId);
    }

    function _headedCluster(uint32 clusterId) private view returns (Cluster storage cluster) {
        cluster = _existingCluster(clusterId);
        if (cluster.head != msg.sender) revert DeviceRegistryNotClusterHead(clusterId, msg.sender);
    }

    function _activeDevice(bytes32 deviceId) private view returns (Device storage device) {
        device = _devices[deviceId];
        DeviceStatus status = device.status;
        if (status == DeviceStatus.None) revert DeviceRegistryUnknownDevice(deviceId);
        if (status == DeviceStatus.Revoked) revert DeviceRegistryDeviceRevoked(deviceId);
    }

    function _requireHeadFree(address head) private view {
        uint32 existing = _clusterOfHead[head];
        if (existing != 0) revert DeviceRegistryHeadInUse(head, existing);
    }
}

"""A Fast DDS profile for large images, used by the bench's processes.

Stock Fast DDS moves data between processes of one host through shared-memory
segments of 512 KB per writer. A 640x480 rgb8 image (900 KB) does not fit, is
split into fragments that overwrite each other under load, and best-effort
readers lose most frames: on a busy 2-core machine a plain publisher and
subscriber at 30 Hz delivered 27 of 150 such frames. With a 16 MB segment all
150 arrived. The segment belongs to the writer, so giving it to the bench's
player and relay is enough; a detector started elsewhere needs nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

SEGMENT_BYTES = 16 * 2**20
PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")

PROFILE_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by sobelnet bag-bench: shared memory with {SEGMENT_BYTES // 2**20} MB segments
     (large images in one piece) plus UDPv4 (discovery, other hosts). -->
<profiles xmlns="http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles">
  <transport_descriptors>
    <transport_descriptor>
      <transport_id>shm_large_images</transport_id>
      <type>SHM</type>
      <segment_size>{SEGMENT_BYTES}</segment_size>
    </transport_descriptor>
    <transport_descriptor>
      <transport_id>udp</transport_id>
      <type>UDPv4</type>
    </transport_descriptor>
  </transport_descriptors>
  <participant profile_name="sobelnet_bench_large_images" is_default_profile="true">
    <rtps>
      <userTransports>
        <transport_id>shm_large_images</transport_id>
        <transport_id>udp</transport_id>
      </userTransports>
      <useBuiltinTransports>false</useBuiltinTransports>
    </rtps>
  </participant>
</profiles>
"""


def apply_large_image_profile(folder: str | Path) -> str:
    """Write the profile into ``folder`` and point this process (and its children) at it.

    Must run before rclpy creates its first participant in this process.

    Returns:
        What was done, for the result's metadata: the profile path, or why it was
        left alone (another RMW, or a profile the user already set).
    """
    rmw = os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    if "fastrtps" not in rmw:
        return f"not applied: RMW is {rmw}"
    for variable in PROFILE_VARIABLES:
        if os.environ.get(variable):
            return f"not applied: {variable} is set to {os.environ[variable]}"
    path = Path(folder) / "fastdds_large_images.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PROFILE_XML)
    for variable in PROFILE_VARIABLES:
        os.environ[variable] = str(path.resolve())
    return str(path)

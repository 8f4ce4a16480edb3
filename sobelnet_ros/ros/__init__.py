"""ROS 2 layer: the detector node, image decoding, the PointCloud2 codec, the demo source.

Only ``node`` and ``sample_source`` import rclpy; ``encodings``, ``compressed``
and ``cloud`` need just the message classes (or any object with the same
fields), so a Python consumer can import the codec without starting ROS.
"""

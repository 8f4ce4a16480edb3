"""Rosbag replay benchmark: bag reading, player, monitor, relay baseline and reports.

Modules that need rclpy import it themselves, so bag reading and writing and
the statistics work without ROS.
"""

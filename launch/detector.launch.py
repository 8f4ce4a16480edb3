"""Start the sobelnet_detector node.

    ros2 launch sobelnet_ros detector.launch.py image:=/camera/image_raw
    ros2 launch sobelnet_ros detector.launch.py image:=/cam0/image_raw namespace:=cam0 device:=cpu

Arguments: image (input topic), namespace, params_file (default: the installed
config/detector.yaml), device (overrides the file), use_sim_time. With
input_transport: compressed the node reads <image>/compressed.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("sobelnet_ros")
    image = LaunchConfiguration("image")
    arguments = [
        DeclareLaunchArgument("image", default_value="image", description="input image topic"),
        DeclareLaunchArgument(
            "namespace", default_value="", description="namespace of the node and its topics"
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=os.path.join(share, "config", "detector.yaml"),
            description="parameters YAML file",
        ),
        DeclareLaunchArgument(
            "device", default_value="auto", description="cpu, cuda, cuda:N or auto"
        ),
        DeclareLaunchArgument(
            "use_sim_time", default_value="false", description="use the /clock topic"
        ),
    ]
    node = Node(
        package="sobelnet_ros",
        executable="detector",
        name="sobelnet_detector",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        emulate_tty=True,
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "device": LaunchConfiguration("device"),
                "use_sim_time": LaunchConfiguration("use_sim_time"),  # read as YAML: a bool
            },
        ],
        remappings=[("image", image), ("image/compressed", [image, "/compressed"])],
        # Weights come from the share directory too, unless the user points elsewhere.
        additional_env={
            "SOBELNET_WEIGHTS_DIR": os.environ.get(
                "SOBELNET_WEIGHTS_DIR", os.path.join(share, "weights")
            )
        },
    )
    return LaunchDescription([*arguments, node])

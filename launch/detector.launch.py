"""Start the sobelnet_detector node.

    ros2 launch sobelnet_ros detector.launch.py image:=/camera/image_raw
    ros2 launch sobelnet_ros detector.launch.py image:=/cam0/image_raw namespace:=cam0 device:=cpu

Arguments: image (input topic), namespace, params_file (default: the installed
config/detector.yaml), device and use_sim_time. device and use_sim_time
override the params file only when given: left out, the file's values hold.
With input_transport: compressed the node reads <image>/compressed.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

OVERRIDES = ("device", "use_sim_time")  # launch arguments that override the params file


def generate_launch_description():
    share = get_package_share_directory("sobelnet_ros")
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
            "device",
            default_value="",
            description="cpu, cuda, cuda:N or auto; overrides params_file when given",
        ),
        DeclareLaunchArgument(
            "use_sim_time",
            default_value="",
            description="true: use the /clock topic; overrides params_file when given",
        ),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_detector, args=[share])])


def _detector(context, share):
    given = [name for name in OVERRIDES if context.launch_configurations.get(name, "")]
    # LaunchConfiguration values are read as YAML: use_sim_time:=true is a bool
    overrides = {name: LaunchConfiguration(name) for name in given}
    image = LaunchConfiguration("image")
    node = Node(
        package="sobelnet_ros",
        executable="detector",
        name="sobelnet_detector",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        emulate_tty=True,
        parameters=[LaunchConfiguration("params_file"), *([overrides] if overrides else [])],
        remappings=[("image", image), ("image/compressed", [image, "/compressed"])],
        # Weights come from the share directory too, unless the user points elsewhere.
        additional_env={
            "SOBELNET_WEIGHTS_DIR": os.environ.get(
                "SOBELNET_WEIGHTS_DIR", os.path.join(share, "weights")
            )
        },
    )
    return [node]

"""Training of SobelNet (Gaussian loss) and DesNet (circle loss on keypoint candidates).

Algorithm layer only: no ROS imports. ``sobelnet train`` is the command line.
"""

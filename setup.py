"""Package metadata comes from settings.ini (nbdev 2 layout); no pkg_resources needed."""
from configparser import ConfigParser
from setuptools import find_packages, setup

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    author=cfg["author"],
    python_requires=">=" + cfg["min_python"],
    packages=find_packages(include=[cfg["lib_path"], cfg["lib_path"] + ".*"]),
    install_requires=cfg["requirements"].split(),
    extras_require={"dev": cfg["dev_requirements"].split(), "cluster": cfg["cluster_requirements"].split()},
    entry_points={"console_scripts": cfg.get("console_scripts", "").split()},
    include_package_data=True,
    zip_safe=False,
)

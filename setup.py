"""Package metadata comes from settings.ini (nbdev 2 layout); no pkg_resources needed."""
import shutil
from configparser import ConfigParser
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]



class BuildWithConfigs(build_py):
    "A built package carries the repository's configs/ (configs, recipes, sweeps): altgrad.files.CONFIGS_DIR."

    def run(self):
        super().run()
        if not self.editable_mode:  # an editable install reads the checkout's configs/ in place
            shutil.copytree("configs", Path(self.build_lib) / cfg["lib_path"] / "configs", dirs_exist_ok=True)


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
    cmdclass={"build_py": BuildWithConfigs},
)

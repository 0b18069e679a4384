"""Memory-augmented recurrent cells, one module per cell."""

from keras_memory.cells.dnc import DNCCell
from keras_memory.cells.ham import HAMRNN, HAMCell
from keras_memory.cells.lantm import LANTMCell
from keras_memory.cells.ntm import NTMCell
from keras_memory.cells.ram import RAMCell
from keras_memory.cells.sam import SAMCell
from keras_memory.cells.sdnc import SDNCCell

__all__ = ["DNCCell", "HAMCell", "HAMRNN", "LANTMCell", "NTMCell", "RAMCell", "SAMCell", "SDNCCell"]

// The test page's entry: the stand-in core first, then the real app, unchanged.
import './install';
import '../../src/main';

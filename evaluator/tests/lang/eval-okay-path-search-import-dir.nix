import <lang/pkg>
